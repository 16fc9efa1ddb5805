// The search page's state lives in the URL, so back/forward and shared links restore it:
// `?q=…&kind=…&category=…&brand=…&in_stock=1&price_min=…&price_max=…&compatible_with=…&page=N`.

import type { Kind } from "../../shared/types";

export const PAGE_SIZE = 20;

export interface SearchState {
  q: string;
  kind: Kind | null;
  category: string | null;
  brand: string | null;
  inStock: boolean;
  priceMin: number | null;
  priceMax: number | null;
  compatibleWith: string | null;
  page: number;
}

export const EMPTY: SearchState = {
  q: "",
  kind: null,
  category: null,
  brand: null,
  inStock: false,
  priceMin: null,
  priceMax: null,
  compatibleWith: null,
  page: 1,
};

function text(v: string | null): string | null {
  const t = v?.trim();
  return t ? t : null;
}

function price(v: string | null): number | null {
  const t = v?.trim().replace(",", ".");
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

export function parseSearch(search: string): SearchState {
  const p = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  const kind = p.get("kind");
  const page = Number(p.get("page"));
  return {
    q: p.get("q") ?? "",
    kind: kind === "product" || kind === "spare_part" ? kind : null,
    category: text(p.get("category")),
    brand: text(p.get("brand")),
    inStock: p.get("in_stock") === "1" || p.get("in_stock") === "true",
    priceMin: price(p.get("price_min")),
    priceMax: price(p.get("price_max")),
    compatibleWith: text(p.get("compatible_with")),
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/** The filters as query parameters, the same names in the page URL and the API. */
function setFilters(p: URLSearchParams, s: SearchState, inStock: string): void {
  if (s.kind) p.set("kind", s.kind);
  if (s.category) p.set("category", s.category);
  if (s.brand) p.set("brand", s.brand);
  if (s.inStock) p.set("in_stock", inStock);
  if (s.priceMin !== null) p.set("price_min", String(s.priceMin));
  if (s.priceMax !== null) p.set("price_max", String(s.priceMax));
  if (s.compatibleWith) p.set("compatible_with", s.compatibleWith);
}

/** The page URL's query string (`""` for the empty state); keys in a fixed order. */
export function toSearch(s: SearchState): string {
  const p = new URLSearchParams();
  if (s.q.trim()) p.set("q", s.q);
  setFilters(p, s, "1");
  if (s.page > 1) p.set("page", String(s.page));
  const out = p.toString();
  return out ? `?${out}` : "";
}

/** The search API's query string for a state (hybrid mode, highlights, one page). */
export function toApiQuery(s: SearchState): string {
  const p = new URLSearchParams();
  p.set("q", s.q.trim());
  setFilters(p, s, "true");
  p.set("limit", String(PAGE_SIZE));
  p.set("offset", String((s.page - 1) * PAGE_SIZE));
  return p.toString();
}

/** A filter change: everything else kept, back to the first page. */
export function withFilter(s: SearchState, change: Partial<SearchState>): SearchState {
  return { ...s, ...change, page: change.page ?? 1 };
}

export function hasFilters(s: SearchState): boolean {
  return (
    s.kind !== null ||
    s.category !== null ||
    s.brand !== null ||
    s.inStock ||
    s.priceMin !== null ||
    s.priceMax !== null ||
    s.compatibleWith !== null
  );
}

export function clearFilters(s: SearchState): SearchState {
  return { ...EMPTY, q: s.q };
}
