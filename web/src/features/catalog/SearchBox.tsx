import { useEffect, useId, useRef, useState } from "react";
import { request } from "../../shared/api";
import type { Suggestion, SuggestResponse } from "../../shared/types";
import { inputClass } from "../../shared/ui";

interface Props {
  value: string;
  onChange: (v: string) => void;
  onSubmit: (v: string) => void;
  onPick: (s: Suggestion) => void;
}

/** The search field with suggestions (`/api/v1/suggest`), used by keyboard as a combobox:
 *  ↓/↑ move through suggestions, Enter opens one or searches, Esc closes, `/` focuses. */
export function SearchBox({ value, onChange, onSubmit, onPick }: Props) {
  const [items, setItems] = useState<Suggestion[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key === "/" && t && !["INPUT", "TEXTAREA"].includes(t.tagName)) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    const q = value.trim();
    if (q.length < 2) {
      setItems([]);
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      request<SuggestResponse>(`/api/v1/suggest?q=${encodeURIComponent(q)}&limit=6`, { signal: ctl.signal })
        .then((r) => {
          setItems(r.suggestions);
          setActive(-1);
        })
        .catch(() => setItems([]));
    }, 120);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [value]);

  const show = open && items.length > 0;
  return (
    <form
      role="search"
      className="relative"
      onSubmit={(e) => {
        e.preventDefault();
        setOpen(false);
        onSubmit(value);
      }}
    >
      <input
        ref={input}
        type="search"
        name="q"
        value={value}
        autoComplete="off"
        placeholder="Станок, запчасть, артикул или модель: «подшипник шпинделя для 16К20»"
        aria-label="Поиск по каталогу"
        role="combobox"
        aria-expanded={show}
        aria-controls={listId}
        aria-activedescendant={active >= 0 ? `${listId}-${active}` : undefined}
        className={`${inputClass} py-3 text-base`}
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && items.length) {
            e.preventDefault();
            setOpen(true);
            setActive((a) => (a + 1) % items.length);
          } else if (e.key === "ArrowUp" && items.length) {
            e.preventDefault();
            setActive((a) => (a <= 0 ? items.length - 1 : a - 1));
          } else if (e.key === "Escape" && show) {
            // Close the list only; the browser's own Escape would also clear the field.
            e.preventDefault();
            setOpen(false);
            setActive(-1);
          } else if (e.key === "Enter" && show && active >= 0) {
            e.preventDefault();
            setOpen(false);
            onPick(items[active]);
          }
        }}
      />
      {show ? (
        <ul id={listId} role="listbox" className="absolute z-30 mt-1 w-full overflow-hidden rounded-lg border border-line bg-surface shadow-lg" data-testid="suggestions">
          {items.map((s, i) => (
            <li
              key={s.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={`cursor-pointer px-3 py-2 text-sm ${i === active ? "bg-bg" : ""}`}
              onMouseDown={(e) => {
                e.preventDefault();
                setOpen(false);
                onPick(s);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="font-medium">{s.name}</span>
              <span className="ml-2 font-mono text-xs text-muted">{[s.sku, s.model].filter(Boolean).join(" · ")}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </form>
  );
}
