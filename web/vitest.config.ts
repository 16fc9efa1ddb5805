import { defineConfig } from "vitest/config";

// Two projects: `unit` (pure logic, beside the code) and `browser` (headless Chromium driven by
// playwright-core against a running `stanok serve`; see e2e/README.md and scripts/web-test.sh).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["src/**/*.test.ts"], environment: "node" } },
      {
        test: {
          name: "browser",
          include: ["e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
