// The cart: kept in localStorage (survives reloads, shared by tabs), read through
// useSyncExternalStore. Lines carry the price the customer saw, which the server re-checks.

import { useSyncExternalStore } from "react";

export interface CartLine {
  id: string;
  sku: string;
  name: string;
  price_rub: number | null;
  qty: number;
}

export interface Cart {
  lines: CartLine[];
}

export const MAX_QTY = 10_000;
const KEY = "stanok.cart.v1";
const EMPTY: Cart = { lines: [] };

/** Storage as the cart needs it (localStorage in the browser; a Map in unit tests). */
export interface CartStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function clampQty(q: number): number {
  return Math.min(MAX_QTY, Math.max(1, Math.round(q) || 1));
}

export function parseCart(raw: string | null): Cart {
  if (!raw) return EMPTY;
  try {
    const v = JSON.parse(raw) as Cart;
    if (!Array.isArray(v.lines)) return EMPTY;
    const lines = v.lines
      .filter((l) => l && typeof l.id === "string" && typeof l.name === "string")
      .map((l) => ({
        id: l.id,
        sku: String(l.sku ?? ""),
        name: l.name,
        price_rub: typeof l.price_rub === "number" ? l.price_rub : null,
        qty: clampQty(Number(l.qty)),
      }));
    return { lines };
  } catch {
    return EMPTY;
  }
}

export function addLine(cart: Cart, item: Omit<CartLine, "qty">, qty = 1): Cart {
  const found = cart.lines.find((l) => l.id === item.id);
  if (found) {
    return {
      lines: cart.lines.map((l) => (l.id === item.id ? { ...l, ...item, qty: clampQty(l.qty + qty) } : l)),
    };
  }
  return { lines: [...cart.lines, { ...item, qty: clampQty(qty) }] };
}

export function setQty(cart: Cart, id: string, qty: number): Cart {
  return { lines: cart.lines.map((l) => (l.id === id ? { ...l, qty: clampQty(qty) } : l)) };
}

export function removeLine(cart: Cart, id: string): Cart {
  return { lines: cart.lines.filter((l) => l.id !== id) };
}

export function setPrices(cart: Cart, prices: Map<string, number | null>): Cart {
  return {
    lines: cart.lines.map((l) => (prices.has(l.id) ? { ...l, price_rub: prices.get(l.id) ?? null } : l)),
  };
}

export function totals(cart: Cart): { items: number; sum: number; unpriced: boolean } {
  let items = 0;
  let sum = 0;
  let unpriced = false;
  for (const l of cart.lines) {
    items += l.qty;
    if (l.price_rub === null) unpriced = true;
    else sum += l.price_rub * l.qty;
  }
  return { items, sum: Math.round(sum * 100) / 100, unpriced };
}

/** The store: one cached snapshot per stored string, so React sees a stable value. */
export function createCartStore(storage: CartStorage) {
  let raw = storage.getItem(KEY);
  let snapshot = parseCart(raw);
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  return {
    get(): Cart {
      const now = storage.getItem(KEY);
      if (now !== raw) {
        raw = now;
        snapshot = parseCart(now);
      }
      return snapshot;
    },
    update(f: (c: Cart) => Cart): void {
      const next = f(this.get());
      raw = JSON.stringify(next);
      snapshot = next;
      storage.setItem(KEY, raw);
      notify();
    },
    subscribe(l: () => void): () => void {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    /** Another tab wrote the cart. */
    changedElsewhere: notify,
    key: KEY,
  };
}

export type CartStore = ReturnType<typeof createCartStore>;

const memory = new Map<string, string>();
const fallbackStorage: CartStorage = {
  getItem: (k) => memory.get(k) ?? null,
  setItem: (k, v) => void memory.set(k, v),
};

function browserStorage(): CartStorage {
  try {
    localStorage.setItem("stanok.probe", "1");
    localStorage.removeItem("stanok.probe");
    return localStorage;
  } catch {
    return fallbackStorage; // private mode or storage off: the cart lives for this page
  }
}

export const cartStore: CartStore = createCartStore(
  typeof window === "undefined" ? fallbackStorage : browserStorage(),
);

if (typeof window !== "undefined") {
  window.addEventListener("storage", (e) => {
    if (e.key === cartStore.key) cartStore.changedElsewhere();
  });
}

export function useCart(): Cart {
  return useSyncExternalStore(cartStore.subscribe, () => cartStore.get(), () => EMPTY);
}
