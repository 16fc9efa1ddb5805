import data from "./families.json";

export interface Family {
  id: string;
  label: string;
}

const byCategory = new Map<string, Family>();
for (const [id, f] of Object.entries(data.families)) {
  for (const c of f.categories) byCategory.set(c, { id, label: f.label });
}

/** The schematic family of a machine by its catalog category (`null`: no schematic yet). */
export function familyOf(category: string | null | undefined): Family | null {
  return (category && byCategory.get(category)) || null;
}
