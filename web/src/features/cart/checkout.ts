// Sending an order or a callback request as a lead. One idempotency key per checkout, kept in
// sessionStorage until the server has accepted the order: a double click, a retry after a lost
// answer or a reload in between all send the same key, so the order is created once.

import { ApiError, newKey, request } from "../../shared/api";
import type { CatalogItem, LeadView } from "../../shared/types";
import type { Cart } from "./cart";

const KEY_STORE = "stanok.checkout.key";

function session(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

let memoryKey: string | null = null;

export function checkoutKey(): string {
  const s = session();
  const existing = s?.getItem(KEY_STORE) ?? memoryKey;
  if (existing) return existing;
  const k = newKey("cart");
  memoryKey = k;
  s?.setItem(KEY_STORE, k);
  return k;
}

export function forgetCheckoutKey(): void {
  memoryKey = null;
  session()?.removeItem(KEY_STORE);
}

export interface Contact {
  name: string;
  phone: string;
  comment: string;
}

export interface PriceChange {
  id: string;
  name: string;
  was: number | null;
  now: number | null;
}

export type Outcome =
  | { kind: "done"; lead: LeadView }
  | { kind: "prices"; changes: PriceChange[]; prices: Map<string, number | null>; message: string }
  | { kind: "field"; field: string; message: string }
  | { kind: "retry"; message: string }
  | { kind: "error"; message: string };

/** What a failed submit means for the form. */
export type Failure = Extract<Outcome, { kind: "field" | "retry" | "error" }>;

export function source(): "site" | "tma" {
  return location.pathname.startsWith("/tma") ? "tma" : "site";
}

export function cartLead(cart: Cart, contact: Contact) {
  return {
    source: source(),
    kind: "cart",
    contact: { name: contact.name.trim(), phone: contact.phone.trim() },
    payload: {
      lines: cart.lines.map((l) => ({ catalog_id: l.id, qty: l.qty, price_rub: l.price_rub })),
      comment: contact.comment.trim(),
    },
  };
}

/** The lines whose current price differs from the one in the cart. */
export function priceChanges(cart: Cart, current: Map<string, number | null>): PriceChange[] {
  return cart.lines
    .filter((l) => current.has(l.id) && (current.get(l.id) ?? null) !== l.price_rub)
    .map((l) => ({ id: l.id, name: l.name, was: l.price_rub, now: current.get(l.id) ?? null }));
}

async function currentPrices(cart: Cart): Promise<Map<string, number | null>> {
  const items = await Promise.all(
    cart.lines.map((l) => request<CatalogItem>(`/api/v1/catalog/${encodeURIComponent(l.id)}`)),
  );
  return new Map(items.map((i) => [i.id, i.price_rub]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isPriceField(field: string | undefined): boolean {
  return !!field && /^payload\.lines\[\d+\]\.price_rub$/.test(field);
}

export async function submitLead(body: unknown, key: string): Promise<LeadView> {
  return request<LeadView>("/api/v1/leads", { method: "POST", body, headers: { "idempotency-key": key } });
}

/** Classifies a failed submit for the form. */
export function failure(e: unknown): Failure {
  if (!(e instanceof ApiError)) return { kind: "retry", message: "Не удалось отправить. Повторите — заявка не задвоится." };
  if (e.network || e.status >= 500 || e.status === 408 || e.status === 429) {
    return { kind: "retry", message: `${e.message} Нажмите «Повторить» — заказ не задвоится.` };
  }
  if (e.status === 422) {
    return { kind: "error", message: "Этот заказ уже отправлен. Если вы изменили корзину, оформите заказ ещё раз." };
  }
  if (e.field?.startsWith("contact")) return { kind: "field", field: e.field, message: e.message };
  return { kind: "error", message: e.message };
}

export async function placeOrder(cart: Cart, contact: Contact): Promise<Outcome> {
  try {
    const lead = await submitLead(cartLead(cart, contact), checkoutKey());
    forgetCheckoutKey();
    return { kind: "done", lead };
  } catch (e) {
    if (e instanceof ApiError && e.status === 400 && isPriceField(e.field)) {
      // The catalog the page reads follows the database within a second; ask again briefly
      // if it has not caught up yet.
      for (let attempt = 0; attempt < 4; attempt++) {
        try {
          const prices = await currentPrices(cart);
          const changes = priceChanges(cart, prices);
          if (changes.length) return { kind: "prices", changes, prices, message: e.message };
        } catch {
          break;
        }
        await sleep(400);
      }
      return { kind: "error", message: e.message };
    }
    if (e instanceof ApiError && e.status === 422) forgetCheckoutKey();
    return failure(e);
  }
}
