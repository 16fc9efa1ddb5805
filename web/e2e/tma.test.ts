import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { SearchResponse } from "../src/shared/types";
import { ADMIN_TOKEN, BASE, TELEGRAM_BRIDGE, THEME, api, launch, newPage, screenshot, signInitData, sql, tmaUrl } from "./helpers";

// Two clients with a machine each and an engineer each in Telegram; the Mini App must show a
// user their own client's park only.
const ALPHA = { user: 7_100_001, phone: "+79120000101", serial: "SN-ALPHA-0001" };
const BETA = { user: 7_100_002, phone: "+79120000102", serial: "SN-BETA-0777" };

let browser: Browser;
let ctx: BrowserContext;
let model = "";

function seedClient(c: typeof ALPHA, company: string, product: { id: string; model: string }) {
  const client = sql(
    `INSERT INTO clients (company, phone) VALUES ('${company}', '${c.phone}')
     ON CONFLICT (phone) DO UPDATE SET company = EXCLUDED.company RETURNING id`,
  );
  sql(`INSERT INTO machine_instances (serial_number, product_id, model, client_id, sold_at, commissioned_at, passport)
       VALUES ('${c.serial}', '${product.id}', '${product.model}', ${client}, '2025-03-14', '2025-04-02',
               '{"warranty_until": "2027-04-02", "spindle_hours": 1240}')
       ON CONFLICT (serial_number, model) DO UPDATE SET client_id = EXCLUDED.client_id`);
  sql(`INSERT INTO telegram_users (telegram_id, client_id, role, phone, first_name)
       VALUES (${c.user}, ${client}, 'engineer', '${c.phone}', 'Инженер')
       ON CONFLICT (telegram_id) DO UPDATE SET client_id = EXCLUDED.client_id, role = EXCLUDED.role`);
  const machine = sql(`SELECT id FROM machine_instances WHERE serial_number = '${c.serial}'`);
  if (sql(`SELECT count(*) FROM service_tickets WHERE machine_instance_id = ${machine}`) === "0") {
    const ticket = sql(`INSERT INTO service_tickets (machine_instance_id, client_id, kind, status, description)
         VALUES (${machine}, ${client}, 'repair', 'in_progress', 'Люфт шпинделя ${c.serial}') RETURNING id`);
    sql(`INSERT INTO service_ticket_events (ticket_id, status, comment, at) VALUES
         (${ticket}, 'new', '', now() - interval '2 days'),
         (${ticket}, 'in_progress', 'Инженер выехал', now() - interval '1 day')`);
  }
}

beforeAll(async () => {
  const products = await api<SearchResponse>("/api/v1/search?q=&kind=product&limit=2");
  const [a, b] = products.hits;
  model = a.model;
  seedClient(ALPHA, "ООО «Альфа-Металл»", a);
  seedClient(BETA, "ЗАО «Бета»", b);
  // A manual for Alpha's model, through the operators' API.
  const pdf = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
  const res = await fetch(
    `${BASE}/api/v1/admin/documents?title=${encodeURIComponent("Руководство по эксплуатации")}&doc_type=manual&models=${encodeURIComponent(a.model)}&name=manual.pdf`,
    { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/pdf" }, body: pdf },
  );
  expect(res.status).toBeLessThan(300);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

async function open(initData: string | null, path = "/tma"): Promise<{ page: Page; errors: string[] }> {
  await ctx?.close();
  ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await ctx.addInitScript(TELEGRAM_BRIDGE);
  const { page, errors } = await newPage(ctx);
  await page.goto(initData === null ? `${BASE}${path}` : tmaUrl(initData, path));
  return { page, errors };
}



const events = (page: Page) => page.evaluate(() => (window as unknown as { __tgEvents: [string, unknown][] }).__tgEvents);

describe("Telegram Mini App", () => {
  it("shows the user's own park, tickets and documents, styled by Telegram's theme", async () => {
    const { page, errors } = await open(signInitData({ id: ALPHA.user, first_name: "Инженер" }));
    await page.getByRole("link", { name: "Мой парк" }).click();
    await page.getByTestId("park").waitFor();
    const serials = await page.getByTestId("serial").allTextContents();
    expect(serials).toEqual([ALPHA.serial]);
    expect(await page.content()).not.toContain(BETA.serial);
    const ticket = page.getByTestId("ticket").first();
    await expect(ticket.textContent()).resolves.toContain("Инженер выехал");
    await expect(page.getByTestId("document").first().textContent()).resolves.toContain("Руководство по эксплуатации");
    await expect(page.getByText("до 02.04.2027").count()).resolves.toBe(1);
    const button = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--tg-theme-button-color").trim());
    expect(button).toBe(THEME.button_color);
    const names = (await events(page)).map((e) => e[0]);
    expect(names).toContain("web_app_ready");
    await screenshot(page, "tma-park");
    expect(errors).toEqual([]);
  });

  it("checks out with Telegram's MainButton as a `tma` lead of that user", async () => {
    const { page, errors } = await open(signInitData({ id: ALPHA.user, first_name: "Инженер" }));
    const parts = await api<SearchResponse>(`/api/v1/search?q=&kind=spare_part&in_stock=true&limit=5`);
    const part = parts.hits.find((h) => h.price_rub !== null)!;
    await page.getByRole("combobox").fill(part.sku);
    await page.getByRole("button", { name: `В корзину: ${part.name}` }).first().click();
    await expect
      .poll(async () => (await events(page)).some(([n, d]) => n === "web_app_setup_main_button" && (d as { is_visible?: boolean })?.is_visible === true))
      .toBe(true);
    await page.getByRole("link", { name: /Корзина/ }).click();
    // Off the home screen Telegram's BackButton is shown.
    await expect
      .poll(async () => (await events(page)).filter(([n]) => n === "web_app_setup_back_button").at(-1)?.[1])
      .toEqual({ is_visible: true });
    await page.locator('input[name="phone"]').fill("+7 912 000-01-01");
    await expect(page.getByTestId("checkout-submit").isVisible()).resolves.toBe(false);
    const since = Number(sql("SELECT coalesce(max(id), 0) FROM leads"));
    await page.evaluate(() => (window as unknown as { Telegram: { WebView: { receiveEvent: (n: string, d?: unknown) => void } } }).Telegram.WebView.receiveEvent("main_button_pressed"));
    await page.getByTestId("order-done").waitFor();
    expect(sql(`SELECT source || ' ' || telegram_id FROM leads WHERE id > ${since}`)).toBe(`tma ${ALPHA.user}`);
    expect(errors).toEqual([]);
  });

  it("asks to open it from Telegram when initData is forged or missing", async () => {
    const good = signInitData({ id: BETA.user, first_name: "Инженер" });
    const forged = good.replace(/hash=([0-9a-f])/, (_, c: string) => `hash=${c === "0" ? "1" : "0"}`);
    for (const init of [forged, signInitData({ id: ALPHA.user, first_name: "X" }, "999:other-bot"), null]) {
      const { page, errors } = await open(init);
      await page.getByTestId("open-from-telegram").waitFor();
      expect(await page.content()).not.toContain(BETA.serial);
      expect(errors).toEqual([]);
    }
    // And the API refuses another client's park to a valid user.
    const res = await fetch(`${BASE}/api/v1/clients/${sql(`SELECT client_id FROM telegram_users WHERE telegram_id = ${BETA.user}`)}/park`, {
      headers: { authorization: `tma ${signInitData({ id: ALPHA.user, first_name: "Инженер" })}` },
    });
    expect(res.status).toBe(403);
    expect(model).not.toBe("");
  });
});
