// Browser tests run headless Debian Chromium through playwright-core against a real
// `stanok serve` (with the real model) on its own database; scripts/web-test.sh starts them.
// Postgres is read with psql, as an operator would.

import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through scripts/web-test.sh`);
  return v;
}

export const BASE = env("STANOK_URL").replace(/\/$/, "");
export const BOT_TOKEN = env("BOT_TOKEN");
export const ADMIN_TOKEN = env("ADMIN_TOKEN");
export const BOT_SERVICE_TOKEN = env("BOT_SERVICE_TOKEN");
const DATABASE_URL = env("DATABASE_URL");

/** One value (or rows joined by newlines) of a query run with psql. */
export function sql(query: string): string {
  return execFileSync("psql", [DATABASE_URL, "-AtXq", "-v", "ON_ERROR_STOP=1", "-c", query], { encoding: "utf8" }).trim();
}

export function sqlJson<T>(query: string): T[] {
  return JSON.parse(sql(`SELECT coalesce(json_agg(t), '[]'::json) FROM (${query}) t`)) as T[];
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    // WebGL (the digital twin) through SwiftShader, software GL, as on a machine without a GPU.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
  });
}

/** A page that fails the test on any uncaught error in the app. */
export async function newPage(ctx: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, errors };
}

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), "screenshots");

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${BASE}${path}`, init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Mini App `initData` signed as Telegram signs it (HMAC-SHA256 keyed by the bot token). */
export function signInitData(user: { id: number; first_name: string }, botToken = BOT_TOKEN, authDate = Math.floor(Date.now() / 1000)): string {
  const fields: Record<string, string> = {
    auth_date: String(authDate),
    query_id: "AAE-test",
    signature: "dGVzdC1zaWduYXR1cmU",
    user: JSON.stringify({ ...user, language_code: "ru" }),
  };
  const check = Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join("\n");
  const secret = createHmac("sha256", "WebAppData").update(botToken).digest();
  const hash = createHmac("sha256", secret).update(check).digest("hex");
  return new URLSearchParams({ ...fields, hash }).toString();
}

export const THEME = {
  bg_color: "#1c2733",
  secondary_bg_color: "#131b24",
  text_color: "#f5f5f5",
  hint_color: "#7d8b99",
  link_color: "#62bcf9",
  button_color: "#e07a1f",
  button_text_color: "#ffffff",
};

/** The Mini App's URL as Telegram opens it: launch parameters in the fragment. */
export function tmaUrl(initData: string, path = "/tma"): string {
  const hash = new URLSearchParams({
    tgWebAppData: initData,
    tgWebAppVersion: "8.0",
    tgWebAppPlatform: "android",
    tgWebAppThemeParams: JSON.stringify(THEME),
  });
  return `${BASE}${path}#${hash.toString()}`;
}

/** Stands in for the Telegram Android client's bridge: records what the app posts, as
 *  `window.TelegramWebviewProxy.postEvent(name, json)` receives it in the real client. */
export const TELEGRAM_BRIDGE = `
  window.__tgEvents = [];
  window.TelegramWebviewProxy = { postEvent(name, data) { window.__tgEvents.push([name, data ? JSON.parse(data) : null]); } };
`;
