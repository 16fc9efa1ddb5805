import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { ApiError, request } from "../../shared/api";
import { plural, priceText, stockText, kindLabel } from "../../shared/format";
import type { SearchResponse } from "../../shared/types";
import { Button, Notice, Spinner } from "../../shared/ui";
import { CallbackDialog } from "../cart/CallbackDialog";
import { AddToCart } from "./AddToCart";
import { Facets } from "./Facets";
import { Highlighted } from "./Highlighted";
import { SearchBox } from "./SearchBox";
import { PAGE_SIZE, clearFilters, hasFilters, parseSearch, toApiQuery, toSearch, withFilter, type SearchState } from "./urlState";

type Load = { status: "loading"; prev: SearchResponse | null } | { status: "ok"; data: SearchResponse } | { status: "error"; error: ApiError };

const TYPING_DELAY_MS = 250;

export function SearchPage({ category }: { category?: string }) {
  const search = useSearch();
  const [location, navigate] = useLocation();
  const state = useMemo<SearchState>(() => {
    const s = parseSearch(search);
    return category ? { ...s, category } : s;
  }, [search, category]);
  const apiQuery = toApiQuery(state);

  const go = (next: SearchState, replace = false) => {
    const url = toSearch(category ? { ...next, category: null } : next);
    navigate(`${location}${url}`, { replace });
  };

  // The field follows the URL (back/forward) but typing runs ahead of it.
  const [input, setInput] = useState(state.q);
  const typed = useRef(false);
  useEffect(() => {
    if (!typed.current) setInput(state.q);
    typed.current = false;
  }, [state.q]);
  useEffect(() => {
    if (input === state.q) return;
    const t = setTimeout(() => {
      typed.current = true;
      go(withFilter(state, { q: input }), true);
    }, TYPING_DELAY_MS);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [input]);

  const [load, setLoad] = useState<Load>({ status: "loading", prev: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setLoad((l) => ({ status: "loading", prev: l.status === "ok" ? l.data : l.status === "loading" ? l.prev : null }));
    request<SearchResponse>(`/api/v1/search?${apiQuery}`, { signal: ctl.signal })
      .then((data) => setLoad({ status: "ok", data }))
      .catch((e: unknown) => {
        if (e instanceof ApiError) setLoad({ status: "error", error: e });
      });
    return () => ctl.abort();
  }, [apiQuery, attempt]);

  useEffect(() => {
    document.title = category
      ? `${category} | Станок`
      : state.q
        ? `${state.q} — поиск | Станок`
        : "Станок — каталог станков и запчастей";
  }, [category, state.q]);

  const data = load.status === "ok" ? load.data : load.status === "loading" ? load.prev : null;
  const [callback, setCallback] = useState<string | null>(null);
  const [filtersOpen, setFiltersOpen] = useState(false);
  const pages = data ? Math.max(1, Math.ceil(Math.min(data.total, 10_000) / PAGE_SIZE)) : 1;

  return (
    <div>
      {category ? (
        <nav className="mb-3 text-sm text-muted" aria-label="Навигация">
          <Link href="/" className="hover:underline">
            Каталог
          </Link>{" "}
          › {category}
        </nav>
      ) : null}
      {category ? <h1 className="mb-3 text-2xl font-semibold">{category}</h1> : <h1 className="sr-only">Поиск по каталогу станков и запчастей</h1>}
      <SearchBox
        value={input}
        onChange={setInput}
        onSubmit={(v) => {
          setInput(v);
          go(withFilter(state, { q: v }));
        }}
        onPick={(s) => navigate(`/p/${encodeURIComponent(s.id)}`)}
      />
      {/* On a phone the filters fold away behind a button, so results come first. */}
      <button type="button" className="mt-3 w-full rounded-lg border border-line bg-surface py-2 text-sm md:hidden" aria-expanded={filtersOpen} onClick={() => setFiltersOpen((o) => !o)}>
        {filtersOpen ? "Скрыть фильтры" : `Фильтры${hasFilters(state) ? " · выбраны" : ""}`}
      </button>
      <div className="mt-5 grid gap-6 md:grid-cols-[240px_1fr]">
        <div className={`${filtersOpen ? "" : "hidden"} md:block`}>
          <Facets state={state} facets={data?.facets} filters={data?.filters} fixedCategory={category} onChange={(s) => go(s)} />
        </div>
        <section aria-live="polite" aria-busy={load.status === "loading"}>
          <div className="mb-3 flex min-h-6 items-center justify-between text-sm text-muted">
            {data ? (
              <span data-testid="total">
                {state.q.trim() ? "Найдено" : "В каталоге"} {data.total} {plural(data.total, ["позиция", "позиции", "позиций"])}
              </span>
            ) : (
              <span />
            )}
            {load.status === "loading" ? <Spinner label="Ищем…" /> : null}
          </div>
          {load.status === "error" ? (
            <Notice tone="error" title={load.error.status === 503 ? "Каталог обновляется" : load.error.status === 400 ? "Проверьте фильтры" : "Поиск не ответил"}>
              <p>{load.error.message}</p>
              <div className="mt-3 flex gap-2">
                {load.error.status === 400 ? (
                  <Button onClick={() => go(clearFilters(state))}>Сбросить фильтры</Button>
                ) : (
                  <Button onClick={() => setAttempt((a) => a + 1)}>Повторить</Button>
                )}
              </div>
            </Notice>
          ) : data && data.hits.length === 0 ? (
            <Notice title={state.q.trim() ? `По запросу «${state.q.trim()}» ничего не нашлось` : "Здесь пока ничего нет"}>
              <ul className="mt-1 list-disc space-y-1 pl-5">
                <li>Проверьте написание и раскладку клавиатуры.</li>
                <li>Поищите по артикулу, модели станка или опишите деталь словами.</li>
                {hasFilters(state) ? <li>Фильтры сужают поиск — попробуйте без них.</li> : null}
              </ul>
              <div className="mt-3 flex flex-wrap gap-2">
                {hasFilters(state) ? <Button onClick={() => go({ ...clearFilters(state), category: category ?? null })}>Сбросить фильтры</Button> : null}
                <Button variant="ghost" onClick={() => setCallback(state.q.trim())}>
                  Не нашли? Подберём по заявке
                </Button>
              </div>
            </Notice>
          ) : data ? (
            <>
              <ol className="space-y-3" data-testid="results">
                {data.hits.map((h) => (
                  <li key={h.id} className="flex flex-col gap-3 rounded-xl border border-line bg-surface p-4 sm:flex-row sm:items-start">
                    <div className="min-w-0 flex-1">
                      <p className="text-xs text-muted">
                        <span className="rounded bg-bg px-1.5 py-0.5">{kindLabel(h.kind)}</span>
                        {h.exact ? <span className="ml-2 rounded bg-ok/10 px-1.5 py-0.5 text-ok">точное совпадение</span> : null}
                        {h.category ? <span className="ml-2">{h.category}</span> : null}
                      </p>
                      <Link href={`/p/${encodeURIComponent(h.id)}`} className="mt-1 block font-medium text-accent hover:underline">
                        <Highlighted html={h.highlights.name} fallback={h.name} />
                      </Link>
                      <p className="mt-0.5 text-xs text-muted">
                        {[h.sku && `арт. ${h.sku}`, h.brand, h.model && `модель ${h.model}`].filter(Boolean).join(" · ")}
                      </p>
                      {h.highlights.description ? (
                        <p className="mt-1 line-clamp-2 text-sm text-muted">
                          <Highlighted html={h.highlights.description} fallback="" />
                        </p>
                      ) : null}
                    </div>
                    <div className="flex shrink-0 items-center justify-between gap-3 sm:w-44 sm:flex-col sm:items-end">
                      <div className="sm:text-right">
                        <p className="font-semibold" data-testid="hit-price">{priceText(h.price_rub)}</p>
                        <p className={`text-xs ${h.in_stock > 0 ? "text-ok" : "text-muted"}`}>{stockText(h.in_stock)}</p>
                      </div>
                      <AddToCart item={h} compact />
                    </div>
                  </li>
                ))}
              </ol>
              {pages > 1 ? (
                <nav className="mt-6 flex items-center justify-center gap-3 text-sm" aria-label="Страницы">
                  <Button variant="ghost" disabled={state.page <= 1} onClick={() => go({ ...state, page: state.page - 1 })}>
                    ← Назад
                  </Button>
                  <span data-testid="page">
                    Страница {state.page} из {pages}
                  </span>
                  <Button variant="ghost" disabled={state.page >= pages} onClick={() => go({ ...state, page: state.page + 1 })}>
                    Дальше →
                  </Button>
                </nav>
              ) : null}
            </>
          ) : null}
        </section>
      </div>
      {callback !== null ? <CallbackDialog onClose={() => setCallback(null)} comment={callback ? `Не нашёл в каталоге: ${callback}` : ""} /> : null}
    </div>
  );
}
