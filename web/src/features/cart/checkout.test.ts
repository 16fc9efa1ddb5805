import { describe, expect, it } from "vitest";
import { ApiError } from "../../shared/api";
import { failure, priceChanges } from "./checkout";

describe("checkout", () => {
  const cart = {
    lines: [
      { id: "a", sku: "A", name: "Вал", price_rub: 100, qty: 1 },
      { id: "b", sku: "B", name: "Ремень", price_rub: 50, qty: 2 },
    ],
  };

  it("lists only the lines whose price moved", () => {
    expect(priceChanges(cart, new Map([["a", 100], ["b", 65]]))).toEqual([{ id: "b", name: "Ремень", was: 50, now: 65 }]);
    expect(priceChanges(cart, new Map([["a", null]]))).toEqual([{ id: "a", name: "Вал", was: 100, now: null }]);
    expect(priceChanges(cart, new Map())).toEqual([]);
  });

  it("retries what may have failed in transit and shows what the person must fix", () => {
    expect(failure(new ApiError(0, "network", "Нет связи.")).kind).toBe("retry");
    expect(failure(new ApiError(503, "not_ready", "Каталог обновляется.")).kind).toBe("retry");
    expect(failure(new ApiError(400, "invalid_parameter", "номер не распознан", "contact.phone"))).toEqual({
      kind: "field",
      field: "contact.phone",
      message: "номер не распознан",
    });
    expect(failure(new ApiError(422, "idempotency_key_reused", "x")).kind).toBe("error");
  });
});
