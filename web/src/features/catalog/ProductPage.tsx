import { useEffect, useState } from "react";
import { Link } from "wouter";
import { ApiError, request } from "../../shared/api";
import { kindLabel, priceText, stockText } from "../../shared/format";
import { takeSsrData } from "../../shared/ssr";
import type { CatalogItem } from "../../shared/types";
import { Button, Notice, Spinner, inputClass } from "../../shared/ui";
import { NotFound } from "../../app/NotFound";
import { AddToCart } from "./AddToCart";
import { TwinSection } from "../twin/TwinSection";

export function ProductPage({ id }: { id: string }) {
  const [item, setItem] = useState<CatalogItem | null>(() => {
    const d = takeSsrData<{ item: CatalogItem }>("product");
    return d && d.item.id === id ? d.item : null;
  });
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [qty, setQty] = useState(1);

  useEffect(() => {
    if (item?.id === id && attempt === 0) return;
    const ctl = new AbortController();
    setError(null);
    request<CatalogItem>(`/api/v1/catalog/${encodeURIComponent(id)}`, { signal: ctl.signal })
      .then(setItem)
      .catch((e: unknown) => e instanceof ApiError && setError(e));
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, attempt]);

  useEffect(() => {
    if (item) document.title = `${item.name} — ${priceText(item.price_rub)} | Станок`;
  }, [item]);

  if (error?.status === 404) return <NotFound />;
  if (error)
    return (
      <Notice tone="error" title="Не удалось загрузить позицию">
        <p>{error.message}</p>
        <Button className="mt-3" onClick={() => setAttempt((a) => a + 1)}>
          Повторить
        </Button>
      </Notice>
    );
  if (!item) return <Spinner />;

  const attrs = item.attribute_list ?? [];
  const unlisted = item.compatible_models.filter((m) => !item.compatible_machines.some((x) => x.model === m));
  return (
    <div>
      <nav className="mb-4 text-sm text-muted" aria-label="Навигация">
        <Link href="/" className="hover:underline">
          Каталог
        </Link>
        {item.category ? (
          <>
            {" › "}
            <Link href={`/c/${encodeURIComponent(item.category)}`} className="hover:underline">
              {item.category}
            </Link>
          </>
        ) : null}
      </nav>
      <article className="grid gap-6 md:grid-cols-3">
        <div className="md:col-span-2">
          {item.image ? (
            <img
              src={`${item.image}?w=640`}
              srcSet={`${item.image}?w=640 640w, ${item.image}?w=1280 1280w`}
              sizes="(min-width: 768px) 40rem, 100vw"
              alt={item.name}
              data-testid="product-image"
              className="mb-4 max-h-96 w-full rounded-xl border border-line bg-surface object-contain"
            />
          ) : null}
          <p className="text-sm text-muted">
            {kindLabel(item.kind)}
            {item.brand ? ` · ${item.brand}` : ""}
          </p>
          <h1 className="mt-1 text-2xl font-semibold">{item.name}</h1>
          <p className="mt-1 text-sm text-muted">
            {item.sku ? (
              <>
                Артикул: <span className="font-mono">{item.sku}</span>
              </>
            ) : null}
            {item.model ? (
              <>
                {" · "}Модель: <span className="font-mono">{item.model}</span>
              </>
            ) : null}
          </p>
          {item.description ? <p className="mt-4 leading-relaxed">{item.description}</p> : null}
          {attrs.length ? (
            <>
              <h2 className="mt-6 text-lg font-semibold">Характеристики</h2>
              <table className="mt-2 w-full text-sm">
                <tbody>
                  {attrs.map((a) => (
                    <tr key={a.name} className="border-b border-line">
                      <th className="w-1/2 py-1.5 pr-4 text-left font-normal text-muted">{a.label}</th>
                      <td className="py-1.5">{a.value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : null}
          {item.compatible_machines.length || unlisted.length ? (
            <>
              <h2 className="mt-6 text-lg font-semibold">Подходит к станкам</h2>
              <ul className="mt-2 flex flex-wrap gap-2" data-testid="compatible-machines">
                {item.compatible_machines.map((m) => (
                  <li key={m.id}>
                    <Link href={`/p/${encodeURIComponent(m.id)}`} className="inline-block rounded-full border border-accent/40 px-3 py-1 text-sm text-accent hover:bg-accent hover:text-accent-fg">
                      {m.name}
                    </Link>
                  </li>
                ))}
                {unlisted.map((m) => (
                  <li key={m} className="rounded-full border border-line px-3 py-1 text-sm text-muted">
                    {m}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          {item.compatible_parts.length ? (
            <>
              <h2 className="mt-6 text-lg font-semibold">Запчасти к этому станку</h2>
              <ul className="mt-2 grid gap-1 sm:grid-cols-2" data-testid="compatible-parts">
                {item.compatible_parts.slice(0, 12).map((p) => (
                  <li key={p.id}>
                    <Link href={`/p/${encodeURIComponent(p.id)}`} className="text-accent hover:underline">
                      {p.name}
                    </Link>
                    {p.sku ? <span className="ml-1 text-sm text-muted">{p.sku}</span> : null}
                  </li>
                ))}
              </ul>
              {item.model ? (
                <Link href={`/?compatible_with=${encodeURIComponent(item.model)}&kind=spare_part`} className="mt-2 inline-block text-sm text-accent underline">
                  Все запчасти для {item.model}
                  {item.compatible_parts.length > 12 ? ` (показаны 12 из ${item.compatible_parts.length}${item.compatible_parts.length >= 50 ? "+" : ""})` : ""}
                </Link>
              ) : null}
            </>
          ) : null}
        </div>
        <aside className="h-fit rounded-xl border border-line bg-surface p-4 md:sticky md:top-20">
          <p className="text-2xl font-semibold" data-testid="price">
            {priceText(item.price_rub)}
          </p>
          <p className={`mt-1 text-sm ${item.in_stock > 0 ? "text-ok" : "text-muted"}`}>{stockText(item.in_stock)}</p>
          <label className="mt-4 flex items-center gap-2 text-sm">
            Количество
            <input type="number" min={1} max={10000} value={qty} onChange={(e) => setQty(Math.max(1, Number(e.target.value) || 1))} className={`${inputClass} w-24 py-1`} />
          </label>
          <div className="mt-3">
            <AddToCart item={item} qty={qty} />
          </div>
        </aside>
      </article>
      {item.kind === "product" ? <TwinSection model={item.model} category={item.category} /> : null}
    </div>
  );
}
