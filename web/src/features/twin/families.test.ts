import { describe, expect, it } from "vitest";
import data from "./families.json";
import { familyOf } from "./families";

describe("twin families", () => {
  it("maps machine categories to schematics", () => {
    expect(familyOf("Токарные станки с ЧПУ")?.id).toBe("lathe");
    expect(familyOf("Обрабатывающие центры")?.id).toBe("mill");
    expect(familyOf("Сверлильные станки")).toBeNull();
    expect(familyOf("")).toBeNull();
  });

  it("gives every family unique node names with a label", () => {
    for (const [id, f] of Object.entries(data.families)) {
      const names = f.assemblies.map((a) => a.node);
      expect(new Set(names).size, id).toBe(names.length);
      for (const a of f.assemblies) {
        expect(a.node, id).toMatch(/^[a-z_]+$/);
        expect(a.label.length, `${id}.${a.node}`).toBeGreaterThan(0);
      }
    }
  });
});
