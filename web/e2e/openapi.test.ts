import { describe, expect, it } from "vitest";
import { USED_FIELDS } from "../src/shared/types";
import { api } from "./helpers";

// The app's hand-written types name fields of the server's JSON; each must exist in the
// server's OpenAPI document, so a renamed or removed field fails here, not in a customer's browser.
describe("the app's types against /api/v1/openapi.json", () => {
  it("reads only fields the server documents", async () => {
    const doc = await api<{ components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>("/api/v1/openapi.json");
    const missing: string[] = [];
    for (const [schema, fields] of Object.entries(USED_FIELDS)) {
      const props = doc.components.schemas[schema]?.properties;
      if (!props) {
        missing.push(`${schema} (no such schema)`);
        continue;
      }
      for (const f of fields) if (!(f in props)) missing.push(`${schema}.${f}`);
    }
    expect(missing).toEqual([]);
  });
});
