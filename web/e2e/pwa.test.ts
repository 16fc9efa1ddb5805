import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { SearchResponse } from "../src/shared/types";
import { ADMIN_TOKEN, BASE, BOT_SERVICE_TOKEN, api, launch, newPage, screenshot, sql } from "./helpers";

// A field engineer of client "Дельта" signs in with a link from the bot, reads the park
// offline and writes an SOS offline that is sent once when the connection returns.
const ENGINEER = 7_100_003;
const SERIAL = "SN-DELTA-0042";
let browser: Browser;
let clientId = "";

async function loginUrl(): Promise<string> {
  const res = await fetch(`${BASE}/api/v1/auth/login-links`, {
    method: "POST",
    headers: { authorization: `Bearer ${BOT_SERVICE_TOKEN}`, "x-telegram-user-id": String(ENGINEER) },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { url: string }).url;
}

beforeAll(async () => {
  const products = await api<SearchResponse>("/api/v1/search?q=&kind=product&limit=3");
  const p = products.hits[2];
  clientId = sql(`INSERT INTO clients (company, phone) VALUES ('ООО «Дельта»', '+79120000103')
                  ON CONFLICT (phone) DO UPDATE SET company = EXCLUDED.company RETURNING id`);
  sql(`INSERT INTO machine_instances (serial_number, product_id, model, client_id, sold_at, passport)
       VALUES ('${SERIAL}', '${p.id}', '${p.model}', ${clientId}, '2025-06-01', '{"warranty_until": "2027-06-01"}')
       ON CONFLICT (serial_number, model) DO NOTHING`);
  sql(`INSERT INTO telegram_users (telegram_id, client_id, role, phone, first_name)
       VALUES (${ENGINEER}, ${clientId}, 'engineer', '+79120000103', 'Пётр')
       ON CONFLICT (telegram_id) DO UPDATE SET client_id = EXCLUDED.client_id, role = EXCLUDED.role`);
  const machine = sql(`SELECT id FROM machine_instances WHERE serial_number = '${SERIAL}'`);
  if (sql(`SELECT count(*) FROM service_tickets WHERE machine_instance_id = ${machine}`) === "0") {
    const t = sql(`INSERT INTO service_tickets (machine_instance_id, client_id, kind, status, description)
                   VALUES (${machine}, ${clientId}, 'maintenance', 'waiting_parts', 'Плановое ТО: замена ремней') RETURNING id`);
    sql(`INSERT INTO service_ticket_events (ticket_id, status, comment) VALUES (${t}, 'waiting_parts', 'Ремни заказаны')`);
  }
  const pdf = Buffer.from("%PDF-1.4\n% delta\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
  const res = await fetch(
    `${BASE}/api/v1/admin/documents?title=${encodeURIComponent("Схема электрическая")}&doc_type=schematic&models=${encodeURIComponent(p.model)}&name=schema.pdf`,
    { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/pdf" }, body: pdf },
  );
  expect(res.status).toBeLessThan(300);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

async function phone() {
  const ctx = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const { page, errors } = await newPage(ctx);
  return { ctx, page, errors };
}

const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

async function outboxStates(page: Page): Promise<string[]> {
  return page.getByTestId("outbox-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-state")!));
}

describe("field engineers' PWA", () => {
  it("refuses a used or an expired sign-in link", async () => {
    const { ctx, page } = await phone();
    const used = await loginUrl();
    await page.goto(used);
    await page.getByTestId("field-park").waitFor();
    await ctx.close();
    const expired = await loginUrl();
    sql(`UPDATE web_login_links SET expires_at = now() - interval '1 second' WHERE telegram_id = ${ENGINEER} AND used_at IS NULL`);
    for (const url of [used, expired]) {
      const other = await phone();
      await other.page.goto(url);
      await other.page.getByTestId("login-refused").waitFor();
      // The token left the address bar.
      expect(other.page.url()).not.toContain("token=");
      await other.ctx.close();
    }
  });

  it("works offline and sends an offline SOS exactly once when the connection returns", async () => {
    const { ctx, page, errors } = await phone();
    await page.goto(await loginUrl());
    await page.getByTestId("field-park").waitFor();
    expect(await page.getByTestId("serial").allTextContents()).toEqual([SERIAL]);
    // Installable: a manifest and an active service worker controlling the page.
    const manifest = await page.evaluate(() => document.querySelector('link[rel="manifest"]')?.getAttribute("href"));
    expect(manifest).toBeTruthy();
    await page.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === "activated");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const cdp = await ctx.newCDPSession(page);
    const { installabilityErrors } = (await cdp.send("Page.getInstallabilityErrors")) as { installabilityErrors: { errorId: string }[] };
    // Playwright's contexts are incognito windows, where nothing installs; every other
    // criterion (manifest fields, icons, service worker, start URL) must hold.
    expect(installabilityErrors.map((e) => e.errorId).filter((e) => e !== "in-incognito")).toEqual([]);
    const docUrl = `/api/v1/clients/${clientId}/documents/`;
    await page.waitForFunction(async (u) => (await (await caches.open("stanok-docs")).keys()).some((r) => r.url.includes(u)), docUrl);

    await ctx.setOffline(true);
    await page.reload();
    await page.getByTestId("field-park").waitFor();
    await expect(page.getByTestId("freshness").textContent()).resolves.toMatch(/Нет связи — показаны данные от \d\d\.\d\d\.\d{4} \d\d:\d\d/);
    expect(await page.getByTestId("serial").allTextContents()).toEqual([SERIAL]);
    await expect(page.getByTestId("ticket").first().textContent()).resolves.toContain("Ремни заказаны");
    const download = page.waitForEvent("download");
    await page.getByTestId("document").getByRole("button", { name: "Открыть" }).click();
    expect((await download).suggestedFilename()).toBe("schema.pdf");
    await screenshot(page, "pwa-offline-park");

    // An SOS written offline waits in the outbox.
    const description = `Стук в шпинделе ${Date.now()}`;
    await page.getByRole("link", { name: "SOS" }).click();
    await page.locator('select[name="machine"]').selectOption({ label: `${(await page.locator("option").nth(1).textContent())!}` });
    await page.locator('textarea[name="description"]').fill(description);
    await page.locator('input[name="photos"]').setInputFiles([{ name: "spindle.png", mimeType: "image/png", buffer: PNG }]);
    await page.getByRole("button", { name: "Отправить SOS" }).click();
    await expect.poll(() => outboxStates(page)).toEqual(["pending"]);
    expect(sql(`SELECT count(*) FROM leads WHERE payload->>'description' = '${description}'`)).toBe("0");
    // It survives closing the app.
    await page.reload();
    await page.getByRole("link", { name: "SOS" }).click();
    await expect.poll(() => outboxStates(page)).toEqual(["pending"]);

    await ctx.setOffline(false);
    await expect.poll(() => outboxStates(page), { timeout: 20_000 }).toEqual(["sent"]);
    const leads = () => sql(`SELECT count(*) FROM leads WHERE kind = 'sos' AND payload->>'description' = '${description}'`);
    expect(leads()).toBe("1");
    expect(sql(`SELECT count(*) FROM service_tickets WHERE description = '${description}'`)).toBe("1");
    expect(
      sql(`SELECT count(*) FROM lead_attachments a JOIN leads l ON l.id = a.lead_id WHERE l.payload->>'description' = '${description}'`),
    ).toBe("1");
    await expect(page.getByTestId("outbox-item").first().textContent()).resolves.toMatch(/Отправлено: заявка № \d+, тикет № \d+/);
    // Reopening the app sends nothing again.
    await page.goto(`${BASE}/app/`);
    await page.getByTestId("field-park").waitFor();
    await page.waitForTimeout(1500);
    expect(leads()).toBe("1");
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
