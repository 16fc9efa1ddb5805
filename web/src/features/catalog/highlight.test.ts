import { describe, expect, it } from "vitest";
import { segments } from "./highlight";

describe("highlight segments", () => {
  it("splits marked words from the rest", () => {
    expect(segments("Подшипник <em>шпинделя</em> для <em>16К20</em>")).toEqual([
      { text: "Подшипник ", hit: false },
      { text: "шпинделя", hit: true },
      { text: " для ", hit: false },
      { text: "16К20", hit: true },
    ]);
  });

  it("turns escaped markup back into plain text, never into elements", () => {
    const s = segments("&lt;script&gt;alert(1)&lt;/script&gt; &amp; <em>вал</em>");
    expect(s[0]).toEqual({ text: "<script>alert(1)</script> & ", hit: false });
    expect(s[1]).toEqual({ text: "вал", hit: true });
  });

  it("keeps text without marks whole", () => {
    expect(segments("Насос")).toEqual([{ text: "Насос", hit: false }]);
    expect(segments("")).toEqual([]);
  });
});
