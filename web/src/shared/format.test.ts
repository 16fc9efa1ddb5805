import { describe, expect, it } from "vitest";
import { dateText, plural, rub } from "./format";

describe("rub", () => {
  it("groups thousands with narrow no-break spaces like the server does", () => {
    expect(rub(0)).toBe("0\u00a0₽");
    expect(rub(950)).toBe("950\u00a0₽");
    expect(rub(1234)).toBe("1\u202f234\u00a0₽");
    expect(rub(1234567.5)).toBe("1\u202f234\u202f567,50\u00a0₽");
    expect(rub(100000.004)).toBe("100\u202f000\u00a0₽");
    expect(rub(0.07)).toBe("0,07\u00a0₽");
  });
});

describe("plural", () => {
  it("chooses the Russian form by the last digits", () => {
    const f: [string, string, string] = ["позиция", "позиции", "позиций"];
    expect([1, 2, 5, 11, 12, 21, 22, 25, 111, 101].map((n) => plural(n, f))).toEqual([
      "позиция", "позиции", "позиций", "позиций", "позиций", "позиция", "позиции", "позиций", "позиций", "позиция",
    ]);
  });
});

describe("dateText", () => {
  it("reads ISO dates and times", () => {
    expect(dateText("2026-03-15")).toBe("15.03.2026");
    expect(dateText("2026-03-15T10:00:00Z")).toBe("15.03.2026");
    expect(dateText(null)).toBe("—");
  });
});
