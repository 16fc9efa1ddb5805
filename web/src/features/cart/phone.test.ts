import { describe, expect, it } from "vitest";
import { phoneProblem } from "./phone";

describe("phoneProblem", () => {
  it("accepts Russian numbers in the usual spellings", () => {
    for (const p of ["8 (912) 345-67-89", "+7 912 345 67 89", "89123456789", "9123456789", "+7(912)345-67-89", "+49 30 1234567"]) {
      expect(phoneProblem(p), p).toBeNull();
    }
  });

  it("explains what is wrong", () => {
    expect(phoneProblem("")).toMatch(/Укажите/);
    expect(phoneProblem("912-34")).toMatch(/не распознан/);
    expect(phoneProblem("8 912 abc")).toMatch(/только цифры/);
    expect(phoneProblem("5123456789")).toMatch(/не распознан/);
  });
});
