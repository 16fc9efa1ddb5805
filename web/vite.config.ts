import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// The server (`stanok serve`) serves `dist/` itself and finds the entry chunk through the
// manifest, so the server-rendered pages load the same bundle as the app shell.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    manifest: true,
    target: "es2022",
    sourcemap: false,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/p": "http://127.0.0.1:8080", "/c": "http://127.0.0.1:8080" },
  },
});
