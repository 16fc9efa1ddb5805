import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { CatalogItem, SearchResponse } from "../src/shared/types";
import { BASE, api, launch, newPage, screenshot, sql, sqlJson } from "./helpers";

let browser: Browser;
let ctx: BrowserContext;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function fresh(): Promise<{ page: Page; errors: string[] }> {
  await ctx?.close();
  ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 1280, height: 900 } });
  return newPage(ctx);
}

async function total(page: Page): Promise<number> {
  const t = await page.getByTestId("total").textContent();
  return Number(/(\d+)/.exec(t ?? "")?.[1]);
}

/** Two priced spare parts that are in stock, from the live API. */
async function twoParts(): Promise<CatalogItem[]> {
  const r = await api<SearchResponse>("/api/v1/search?q=&kind=spare_part&in_stock=true&limit=30");
  const priced = r.hits.filter((h) => h.price_rub !== null && h.price_rub > 0).slice(0, 2);
  expect(priced.length).toBe(2);
  return Promise.all(priced.map((h) => api<CatalogItem>(`/api/v1/catalog/${encodeURIComponent(h.id)}`)));
}

async function addFromProductPage(page: Page, item: CatalogItem) {
  await page.goto(`${BASE}/p/${encodeURIComponent(item.id)}`);
  await page.getByRole("heading", { level: 1, name: item.name }).waitFor();
  await page.getByRole("button", { name: `В корзину: ${item.name}` }).click();
  await page.getByText("Добавлено ✓").waitFor();
}

async function fillCheckout(page: Page) {
  await page.goto(`${BASE}/cart`);
  await page.getByTestId("cart-lines").waitFor();
  await page.locator('input[name="name"]').fill("Иван Петров");
  await page.locator('input[name="phone"]').fill("8 (912) 345-67-89");
  await page.locator('textarea[name="comment"]').fill("Доставка в Екатеринбург");
}

function unescapeHtml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const maxLead = () => Number(sql("SELECT coalesce(max(id), 0) FROM leads"));

describe("catalog site", () => {
  it("shows results, suggestions and facets for a typed query", async () => {
    const { page, errors } = await fresh();
    const searches: string[] = [];
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname === "/api/v1/search") searches.push(u.searchParams.get("q") ?? "");
    });
    await page.goto(`${BASE}/`);
    const box = page.getByRole("combobox", { name: "Поиск по каталогу" });
    await box.click();
    await box.fill("подшипник");
    await page.getByTestId("suggestions").waitFor();
    await page.waitForURL(/q=%D0%BF%D0%BE%D0%B4%D1%88/);
    await page.getByTestId("results").locator("li").first().waitFor();
    const first = await page.getByTestId("results").locator("li").count();
    expect(first).toBeGreaterThan(0);
    await expect(page.getByTestId("results").locator("mark").first().textContent()).resolves.toMatch(/подшипник/i);
    await page.getByTestId("facet-category").waitFor();
    await page.getByTestId("facet-brand").waitFor();
    // One search request for the typed query (the first load browses): results come from one
    // round trip, not one request per keystroke.
    expect(searches.filter((q) => q !== "")).toEqual(["подшипник"]);
    await box.press("Escape");
    await expect(box.inputValue()).resolves.toBe("подшипник");
    await screenshot(page, "search");
    expect(errors).toEqual([]);
  });

  it("opens a suggestion from the keyboard", async () => {
    const { page, errors } = await fresh();
    await page.goto(`${BASE}/`);
    const box = page.getByRole("combobox", { name: "Поиск по каталогу" });
    await page.getByRole("heading", { level: 1 }).first().waitFor({ state: "attached" });
    await page.keyboard.press("/"); // the shortcut focuses the search field
    await expect(box.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await page.keyboard.type("подшип", { delay: 20 });
    const first = page.getByTestId("suggestions").getByRole("option").first();
    await first.waitFor();
    const name = (await first.locator("span").first().textContent())!;
    await box.press("ArrowDown");
    await expect(first.getAttribute("aria-selected")).resolves.toBe("true");
    await box.press("Enter");
    await page.waitForURL(/\/p\//);
    await page.getByRole("heading", { level: 1, name }).waitFor();
    expect(errors).toEqual([]);
  });

  it("narrows the total with a filter and restores it on back", async () => {
    const { page, errors } = await fresh();
    await page.goto(`${BASE}/?q=${encodeURIComponent("подшипник")}`);
    await page.getByTestId("results").waitFor();
    const before = await total(page);
    const facet = page.getByTestId("facet-category").locator("button").first();
    const name = (await facet.locator("span").first().textContent())!;
    await facet.click();
    await page.waitForURL(/category=/);
    await expect.poll(() => total(page)).toBeLessThan(before);
    const narrowed = await total(page);
    expect(narrowed).toBeGreaterThan(0);
    // The API agrees with the page for the same filter.
    const r = await api<SearchResponse>(`/api/v1/search?q=${encodeURIComponent("подшипник")}&category=${encodeURIComponent(name)}&limit=1`);
    expect(r.total).toBe(narrowed);
    await page.goBack();
    await expect.poll(() => total(page)).toBe(before);
    await page.goForward();
    await expect.poll(() => total(page)).toBe(narrowed);
    expect(errors).toEqual([]);
  });

  it("puts results before the filters on a phone", async () => {
    await ctx?.close();
    ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const { page, errors } = await newPage(ctx);
    await page.goto(`${BASE}/?q=${encodeURIComponent("подшипник")}`);
    await page.getByTestId("results").waitFor();
    expect(await page.getByTestId("facet-category").isVisible()).toBe(false);
    await page.getByRole("button", { name: "Фильтры" }).click();
    await page.getByTestId("facet-category").waitFor();
    expect(errors).toEqual([]);
  });

  it("says what to do when nothing is found, and its way out works", async () => {
    const { page, errors } = await fresh();
    await page.goto(`${BASE}/?q=${encodeURIComponent("подшипник")}&price_min=900000000`);
    await page.getByText("ничего не нашлось").waitFor();
    await page.getByRole("button", { name: "Не нашли? Подберём по заявке" }).click();
    await expect(page.locator('dialog textarea[name="comment"]').inputValue()).resolves.toContain("подшипник");
    await page.getByRole("button", { name: "Закрыть" }).click();
    await page.getByRole("button", { name: "Сбросить фильтры" }).first().click();
    await page.getByTestId("results").waitFor();
    expect(page.url()).not.toContain("price_min");
    expect(await total(page)).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it("renders a product page for search engines without JavaScript", async () => {
    const [item] = await twoParts();
    const res = await fetch(`${BASE}/p/${encodeURIComponent(item.id)}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const title = unescapeHtml(/<title>([^<]*)<\/title>/.exec(html)?.[1] ?? "");
    expect(title).toContain(item.name);
    expect(html).toMatch(/<meta name="description" content="[^"]+"/);
    expect(html).toContain(`<link rel="canonical" href="${BASE}/p/${encodeURIComponent(item.id)}"`);
    expect(html).toContain('property="og:type" content="product"');
    const ld = JSON.parse(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/.exec(html)![1]);
    expect(ld["@type"]).toBe("Product");
    expect(ld.name).toBe(item.name);
    expect(ld.sku).toBe(item.sku);
    expect(ld.offers.priceCurrency).toBe("RUB");
    expect(Number(ld.offers.price)).toBeCloseTo(item.price_rub!, 2);
    expect(ld.offers.availability).toBe("https://schema.org/InStock");
    // In a browser the app takes over and the cart button works.
    const { page, errors } = await fresh();
    await page.goto(`${BASE}/p/${encodeURIComponent(item.id)}`);
    await page.getByRole("button", { name: `В корзину: ${item.name}` }).waitFor();
    await screenshot(page, "product");
    expect(errors).toEqual([]);
    const missing = await fetch(`${BASE}/p/no-such-item`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("Страница не найдена");
  });

  it("places exactly one cart lead with the right lines, even after a double click", async () => {
    const parts = await twoParts();
    const { page, errors } = await fresh();
    await addFromProductPage(page, parts[0]);
    await addFromProductPage(page, parts[1]);
    await page.getByRole("button", { name: `В корзину: ${parts[1].name}` }).click();
    const since = maxLead();
    await fillCheckout(page);
    await page.getByTestId("checkout-submit").dblclick();
    await page.getByTestId("order-done").waitFor();
    const leads = sqlJson<{ id: number; source: string; contact_phone: string; payload: { lines: { catalog_id: string; qty: number; price_rub: number }[] } }>(
      `SELECT id, source, contact_phone, payload FROM leads WHERE id > ${since} AND kind = 'cart'`,
    );
    expect(leads.length).toBe(1);
    expect(leads[0].source).toBe("site");
    expect(leads[0].contact_phone).toBe("+79123456789");
    const lines = leads[0].payload.lines.map((l) => [l.catalog_id, l.qty, l.price_rub]);
    expect(lines).toEqual([
      [parts[0].id, 1, parts[0].price_rub],
      [parts[1].id, 2, parts[1].price_rub],
    ]);
    await expect(page.getByTestId("order-done").textContent()).resolves.toContain(`№ ${leads[0].id}`);
    expect(errors).toEqual([]);
  });

  it("retries a lost answer with the same key and still orders once", async () => {
    const [part] = await twoParts();
    const { page } = await fresh();
    await addFromProductPage(page, part);
    const since = maxLead();
    await fillCheckout(page);
    let dropped = false;
    await page.route("**/api/v1/leads", async (route) => {
      if (dropped) return route.continue();
      dropped = true;
      await route.fetch(); // the server takes the order…
      await route.abort("connectionreset"); // …and the answer is lost on the way back
    });
    await page.getByTestId("checkout-submit").click();
    await page.getByText("Заказ не отправлен").waitFor();
    await page.getByRole("button", { name: "Повторить" }).click();
    await page.getByTestId("order-done").waitFor();
    expect(sql(`SELECT count(*) FROM leads WHERE id > ${since} AND kind = 'cart'`)).toBe("1");
  });

  it("explains a changed price and orders at the new one after confirmation", async () => {
    const [part] = await twoParts();
    const { page } = await fresh();
    await addFromProductPage(page, part);
    const since = maxLead();
    const newPrice = Math.round(part.price_rub! + 137);
    sql(`UPDATE catalog_items SET price_rub = ${newPrice} WHERE id = '${part.id.replace(/'/g, "''")}'`);
    try {
      await fillCheckout(page);
      await page.getByTestId("checkout-submit").click();
      const changes = page.getByTestId("price-changes");
      await changes.waitFor();
      await expect(changes.textContent()).resolves.toContain(part.name);
      expect(sql(`SELECT count(*) FROM leads WHERE id > ${since}`)).toBe("0");
      await page.getByRole("button", { name: "Подтвердить заказ по новым ценам" }).click();
      await page.getByTestId("order-done").waitFor();
      const price = sql(`SELECT payload->'lines'->0->>'price_rub' FROM leads WHERE id > ${since} AND kind = 'cart'`);
      expect(Number(price)).toBe(newPrice);
    } finally {
      sql(`UPDATE catalog_items SET price_rub = ${part.price_rub} WHERE id = '${part.id.replace(/'/g, "''")}'`);
    }
  });

  it("shows a category page as rendered, then as the app with the category fixed", async () => {
    const r = await api<SearchResponse>("/api/v1/search?q=&limit=1");
    const category = r.facets.category![0];
    const url = `${BASE}/c/${encodeURIComponent(category.value)}`;
    const html = await (await fetch(url)).text();
    expect(html).toMatch(new RegExp(`>${category.count} позици[яий]`));
    const { page, errors } = await fresh();
    await page.goto(url);
    await page.getByTestId("results").waitFor();
    expect(await total(page)).toBe(category.count);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(category.value);
    expect(errors).toEqual([]);
  });

  it("lists every product and category in the sitemap", async () => {
    const xml = await (await fetch(`${BASE}/sitemap.xml`)).text();
    const locs = [...xml.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => m[1]);
    const products = new Set(locs.filter((l) => l.includes("/p/")).map((l) => decodeURIComponent(l.split("/p/")[1])));
    const ids = sql("SELECT id FROM catalog_items").split("\n");
    expect(products.size).toBe(ids.length);
    for (const id of ids) expect(products.has(id)).toBe(true);
    const categories = sql("SELECT count(DISTINCT category) FROM catalog_items WHERE category <> ''");
    expect(locs.filter((l) => l.includes("/c/")).length).toBe(Number(categories));
    const robots = await (await fetch(`${BASE}/robots.txt`)).text();
    expect(robots).toContain(`Sitemap: ${BASE}/sitemap.xml`);
  });
});
