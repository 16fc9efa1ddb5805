import { describe, expect, it } from "vitest";
import { MAX_QTY, addLine, createCartStore, parseCart, removeLine, setPrices, setQty, totals } from "./cart";

const item = (id: string, price: number | null) => ({ id, sku: `S-${id}`, name: `Деталь ${id}`, price_rub: price });

describe("cart", () => {
  it("adds to an existing line instead of duplicating it", () => {
    let c = addLine({ lines: [] }, item("a", 100));
    c = addLine(c, item("b", 50), 2);
    c = addLine(c, item("a", 100), 3);
    expect(c.lines.map((l) => [l.id, l.qty])).toEqual([["a", 4], ["b", 2]]);
    expect(totals(c)).toEqual({ items: 6, sum: 500, unpriced: false });
  });

  it("keeps quantities within 1..MAX_QTY", () => {
    let c = addLine({ lines: [] }, item("a", 1));
    expect(setQty(c, "a", 0).lines[0].qty).toBe(1);
    expect(setQty(c, "a", 10 ** 9).lines[0].qty).toBe(MAX_QTY);
    c = setQty(c, "a", 2.6);
    expect(c.lines[0].qty).toBe(3);
    expect(removeLine(c, "a").lines).toEqual([]);
  });

  it("counts a line without a price as unpriced, not as zero", () => {
    const c = addLine(addLine({ lines: [] }, item("a", 10)), item("b", null));
    expect(totals(c)).toEqual({ items: 2, sum: 10, unpriced: true });
  });

  it("takes the server's prices", () => {
    const c = addLine(addLine({ lines: [] }, item("a", 10)), item("b", 20));
    const next = setPrices(c, new Map([["a", 12.5]]));
    expect(next.lines.map((l) => l.price_rub)).toEqual([12.5, 20]);
  });

  it("survives damaged storage", () => {
    expect(parseCart("{not json")).toEqual({ lines: [] });
    expect(parseCart('{"lines":[{"id":1},{"id":"x","name":"Вал","qty":"7"}]}').lines).toEqual([
      { id: "x", sku: "", name: "Вал", price_rub: null, qty: 7 },
    ]);
  });

  it("persists through the storage and notifies subscribers", () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    const store = createCartStore(storage);
    let calls = 0;
    store.subscribe(() => calls++);
    store.update((c) => addLine(c, item("a", 5), 2));
    expect(calls).toBe(1);
    const again = createCartStore(storage);
    expect(again.get().lines[0]).toMatchObject({ id: "a", qty: 2 });
    expect(store.get()).toBe(store.get());
  });
});
