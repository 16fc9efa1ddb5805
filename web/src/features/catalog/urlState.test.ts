import { describe, expect, it } from "vitest";
import { EMPTY, PAGE_SIZE, clearFilters, hasFilters, parseSearch, toApiQuery, toSearch, withFilter } from "./urlState";

describe("search state in the URL", () => {
  it("round-trips every field", () => {
    const s = {
      q: "подшипник шпинделя 16К20",
      kind: "spare_part" as const,
      category: "Подшипники",
      brand: "SKF",
      inStock: true,
      priceMin: 100,
      priceMax: 2500.5,
      compatibleWith: "16К20",
      page: 3,
    };
    expect(parseSearch(toSearch(s))).toEqual(s);
  });

  it("reads junk as the defaults instead of failing", () => {
    expect(parseSearch("?kind=tool&page=-2&price_min=abc&in_stock=maybe&brand=%20")).toEqual(EMPTY);
    expect(parseSearch("page=2.5").page).toBe(1);
    expect(parseSearch("?price_max=1 500,5").priceMax).toBeNull();
    expect(parseSearch("?price_max=1500,5").priceMax).toBe(1500.5);
  });

  it("writes nothing for the empty state", () => {
    expect(toSearch(EMPTY)).toBe("");
    expect(toSearch({ ...EMPTY, q: "  " })).toBe("");
  });

  it("asks the API for the page as an offset", () => {
    const p = new URLSearchParams(toApiQuery({ ...EMPTY, q: " швп ", page: 3, inStock: true }));
    expect(p.get("q")).toBe("швп");
    expect(p.get("offset")).toBe(String(2 * PAGE_SIZE));
    expect(p.get("limit")).toBe(String(PAGE_SIZE));
    expect(p.get("in_stock")).toBe("true");
    expect(p.has("kind")).toBe(false);
  });

  it("goes back to page 1 when a filter changes", () => {
    const s = { ...EMPTY, q: "насос", page: 4 };
    expect(withFilter(s, { brand: "Grundfos" })).toEqual({ ...s, brand: "Grundfos", page: 1 });
    expect(withFilter(s, { page: 5 }).page).toBe(5);
  });

  it("clears filters but keeps the query", () => {
    const s = { ...EMPTY, q: "насос", brand: "X", inStock: true, page: 2 };
    expect(hasFilters(s)).toBe(true);
    expect(clearFilters(s)).toEqual({ ...EMPTY, q: "насос" });
    expect(hasFilters(clearFilters(s))).toBe(false);
  });
});
