import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import data from "../src/features/twin/families.json";
import type { SearchResponse } from "../src/shared/types";
import { BASE, api, launch, newPage, screenshot } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function machine(category: string) {
  const r = await api<SearchResponse>(`/api/v1/search?q=&kind=product&category=${encodeURIComponent(category)}&limit=1`);
  expect(r.hits.length).toBe(1);
  return r.hits[0];
}

/** The parts the API lists for a model and an assembly's categories, as the panel should. */
async function partsFor(model: string, categories: string[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const c of categories) {
    const r = await api<SearchResponse>(
      `/api/v1/search?q=&kind=spare_part&compatible_with=${encodeURIComponent(model)}&category=${encodeURIComponent(c)}&limit=20`,
    );
    r.hits.forEach((h) => ids.add(h.id));
  }
  return [...ids].sort();
}

async function openTwin(page: Page, id: string) {
  await page.goto(`${BASE}/p/${encodeURIComponent(id)}`);
  await page.getByRole("button", { name: /3D-схема станка/ }).click();
}

describe("digital twin", () => {
  it("renders the schematic and lists a tapped assembly's compatible parts", async () => {
    const ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 1280, height: 900 } });
    const { page, errors } = await newPage(ctx);
    const lathe = await machine("Токарные станки");
    await openTwin(page, lathe.id);
    await page.getByTestId("twin-canvas").waitFor();
    await page.waitForFunction(() => (window.__stanokTwin?.nodes().length ?? 0) > 0);
    const nodes = await page.evaluate(() => window.__stanokTwin!.nodes());
    const assemblies = data.families.lathe.assemblies;
    expect(nodes.sort()).toEqual(assemblies.map((a) => a.node).sort());
    // Not a blank canvas: the rendered pixels vary (once the first frames are drawn; a loaded
    // machine can take longer than half a second for them).
    const luminanceSpread = () =>
      page.evaluate(() => {
        const gl = document.querySelector("[data-testid=twin-canvas] canvas") as HTMLCanvasElement;
        const c = document.createElement("canvas");
        [c.width, c.height] = [gl.width, gl.height];
        const ctx = c.getContext("2d")!;
        ctx.drawImage(gl, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let sum = 0, sq = 0, n = 0;
        for (let i = 0; i < px.length; i += 16) {
          const l = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
          sum += l;
          sq += l * l;
          n++;
        }
        return Math.sqrt(sq / n - (sum / n) ** 2);
      });
    await expect.poll(luminanceSpread, { timeout: 10_000 }).toBeGreaterThan(10);
    const spread = await luminanceSpread();
    // Frame rate while the controls run (SwiftShader, software GL on this machine's cores).
    const fps = await page.evaluate(
      () =>
        new Promise<number>((done) => {
          let frames = 0;
          const start = performance.now();
          const tick = () => {
            frames++;
            if (performance.now() - start < 2000) requestAnimationFrame(tick);
            else done((frames * 1000) / (performance.now() - start));
          };
          requestAnimationFrame(tick);
        }),
    );
    console.log(`twin: ${fps.toFixed(1)} frames/s in headless Chromium (SwiftShader), luminance spread ${spread.toFixed(1)}`);

    const withParts = [];
    for (const a of assemblies) {
      const ids = await partsFor(lathe.model, a.categories);
      if (ids.length) withParts.push({ a, ids });
    }
    expect(withParts.length).toBeGreaterThan(0);
    for (const { a, ids } of withParts.slice(0, 3)) {
      await page.evaluate((n) => window.__stanokTwin!.select(n), a.node);
      await page.getByTestId("twin-panel").getByRole("heading", { name: a.label }).waitFor();
      // The list the panel settles on (the previous assembly's may still show for a moment).
      const shown = async () =>
        (await page.getByTestId("twin-part").evaluateAll((els) => els.map((e) => e.getAttribute("data-id")!))).sort();
      await expect.poll(shown, { timeout: 10_000 }).toEqual(ids);
    }
    await page.getByTestId("twin-section").scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, 120));
    await screenshot(page, "twin");
    const empty = assemblies.find((a) => a.categories.length === 0)!;
    await page.evaluate((n) => window.__stanokTwin!.select(n), empty.node);
    await page.getByTestId("twin-empty").waitFor();
    await page.getByRole("button", { name: "Запросить подбор" }).click();
    await expect(page.locator('dialog textarea[name="comment"]').inputValue()).resolves.toContain(lathe.model);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it("says the schematic is unavailable for a machine family without one", async () => {
    const ctx = await browser.newContext({ locale: "ru-RU" });
    const { page, errors } = await newPage(ctx);
    const drill = await machine("Сверлильные станки");
    await openTwin(page, drill.id);
    await page.getByText("Схема недоступна").waitFor();
    await expect(page.getByTestId("twin-unavailable").textContent()).resolves.toContain(drill.model);
    expect(await page.getByTestId("twin-canvas").count()).toBe(0);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it("keeps three.js out of the entry chunk", async () => {
    const html = await (await fetch(`${BASE}/`)).text();
    const entry = /<script type="module" crossorigin src="([^"]+)"/.exec(html)![1];
    const js = await (await fetch(`${BASE}${entry}`)).text();
    expect(js).not.toContain("WebGLRenderer");
    const glb = await fetch(`${BASE}/twins/lathe.glb`);
    expect(glb.status).toBe(200);
    expect(new Uint8Array(await glb.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([0x67, 0x6c, 0x54, 0x46])); // "glTF"
  });
});
