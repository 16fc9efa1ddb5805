import { useEffect, useState } from "react";
import type { FacetValue, FilterConf, FilterField, SearchResponse } from "../../shared/types";
import { inputClass } from "../../shared/ui";
import { clearFilters, hasFilters, withFilter, type SearchState } from "./urlState";

interface Props {
  state: SearchState;
  facets: SearchResponse["facets"] | undefined;
  /** Which filters to show, in order (from the CMS); the defaults until a response says. */
  filters?: FilterConf[];
  fixedCategory?: string;
  onChange: (s: SearchState) => void;
}

function FacetList({ title, values, selected, onSelect, testId, className }: { title: string; values: FacetValue[]; selected: string | null; onSelect: (v: string | null) => void; testId: string; className?: string }) {
  const [all, setAll] = useState(false);
  if (!values.length && !selected) return null;
  const shown = all ? values : values.slice(0, 8);
  return (
    <fieldset className={className} data-testid={testId}>
      <legend className="mb-2 text-sm font-semibold">{title}</legend>
      {selected ? (
        <button type="button" className="mb-1 flex w-full items-center justify-between rounded-md bg-accent px-2 py-1 text-left text-sm text-accent-fg" onClick={() => onSelect(null)} aria-label={`Убрать фильтр: ${selected}`}>
          <span className="truncate">{selected}</span>
          <span aria-hidden>×</span>
        </button>
      ) : (
        <ul className="space-y-0.5">
          {shown.map((v) => (
            <li key={v.value}>
              <button type="button" className="flex w-full items-center justify-between gap-2 rounded-md px-2 py-1 text-left text-sm hover:bg-bg" onClick={() => onSelect(v.value)}>
                <span className="truncate">{v.value}</span>
                <span className="text-xs text-muted">{v.count}</span>
              </button>
            </li>
          ))}
          {values.length > 8 ? (
            <li>
              <button type="button" className="px-2 text-xs text-accent" onClick={() => setAll((a) => !a)}>
                {all ? "Свернуть" : `Ещё ${values.length - 8}`}
              </button>
            </li>
          ) : null}
        </ul>
      )}
    </fieldset>
  );
}

/** A text or number filter applied on Enter or when the field loses focus. */
function LazyInput({ value, placeholder, label, numeric, onApply }: { value: string; placeholder: string; label: string; numeric?: boolean; onApply: (v: string) => void }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <input
      className={`${inputClass} py-1.5 text-sm`}
      value={draft}
      placeholder={placeholder}
      aria-label={label}
      inputMode={numeric ? "decimal" : undefined}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={() => draft !== value && onApply(draft)}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          onApply(draft);
        }
      }}
    />
  );
}

function num(v: string): number | null {
  const n = Number(v.trim().replace(",", ".").replace(/\s/g, ""));
  return v.trim() && Number.isFinite(n) && n >= 0 ? n : null;
}

/** The filters shown while the server has not said which (the same as its defaults). */
export const DEFAULT_FILTERS: FilterConf[] = [
  { field: "kind", label: "Тип" },
  { field: "in_stock", label: "Только в наличии" },
  { field: "price", label: "Цена, ₽" },
  { field: "compatible_with", label: "Для станка" },
  { field: "category", label: "Категория" },
  { field: "brand", label: "Производитель" },
];

export function Facets({ state, facets, filters, fixedCategory, onChange }: Props) {
  const kinds = facets?.kind ?? [];
  const count = (k: string) => kinds.find((v) => v.value === k)?.count;
  const set = (change: Partial<SearchState>) => onChange(withFilter(state, change));
  const section = (f: FilterConf, first: boolean) => {
    const gap = first ? "" : "mt-5";
    switch (f.field as FilterField) {
      case "kind":
        return (
          <fieldset key={f.field} className={gap} data-testid="facet-kind">
            <legend className="mb-2 text-sm font-semibold">{f.label}</legend>
            <div className="flex flex-wrap gap-1">
              {([
                [null, "Все"],
                ["product", "Станки"],
                ["spare_part", "Запчасти"],
              ] as const).map(([k, label]) => (
                <button
                  key={label}
                  type="button"
                  aria-pressed={state.kind === k}
                  className={`rounded-full border px-3 py-1 ${state.kind === k ? "border-accent bg-accent text-accent-fg" : "border-line bg-surface"}`}
                  onClick={() => set({ kind: k })}
                >
                  {label}
                  {k && count(k) !== undefined && state.kind !== k ? <span className="ml-1 text-xs opacity-70">{count(k)}</span> : null}
                </button>
              ))}
            </div>
          </fieldset>
        );
      case "in_stock":
        return (
          <label key={f.field} className={`${gap} flex items-center gap-2`} data-testid="facet-in_stock">
            <input type="checkbox" checked={state.inStock} onChange={(e) => set({ inStock: e.target.checked })} />
            {f.label}
          </label>
        );
      case "price":
        return (
          <fieldset key={f.field} className={gap} data-testid="facet-price">
            <legend className="mb-2 text-sm font-semibold">{f.label}</legend>
            <div className="flex gap-2">
              <LazyInput label="Цена от" placeholder="от" numeric value={state.priceMin?.toString() ?? ""} onApply={(v) => set({ priceMin: num(v) })} />
              <LazyInput label="Цена до" placeholder="до" numeric value={state.priceMax?.toString() ?? ""} onApply={(v) => set({ priceMax: num(v) })} />
            </div>
          </fieldset>
        );
      case "compatible_with":
        return (
          <fieldset key={f.field} className={gap} data-testid="facet-compatible_with">
            <legend className="mb-2 text-sm font-semibold">{f.label}</legend>
            <LazyInput label="Модель станка" placeholder="например, 16К20" value={state.compatibleWith ?? ""} onApply={(v) => set({ compatibleWith: v.trim() || null })} />
          </fieldset>
        );
      case "category":
        return fixedCategory ? null : (
          <FacetList key={f.field} className={gap} title={f.label} testId="facet-category" values={facets?.category ?? []} selected={state.category} onSelect={(v) => set({ category: v })} />
        );
      case "brand":
        return (
          <FacetList key={f.field} className={gap} title={f.label} testId="facet-brand" values={facets?.brand ?? []} selected={state.brand} onSelect={(v) => set({ brand: v })} />
        );
      default:
        return null;
    }
  };
  const shown = (filters ?? DEFAULT_FILTERS).filter((f) => !(f.field === "category" && fixedCategory));
  return (
    <aside className="text-sm" aria-label="Фильтры">
      {shown.map((f, i) => section(f, i === 0))}
      {hasFilters({ ...state, category: fixedCategory ? null : state.category }) ? (
        <button type="button" className="mt-5 text-accent underline" onClick={() => onChange({ ...clearFilters(state), category: fixedCategory ?? null })}>
          Сбросить фильтры
        </button>
      ) : null}
    </aside>
  );
}
