import { useState } from "react";
import { Link } from "wouter";
import { priceText, rub, plural } from "../../shared/format";
import type { LeadView } from "../../shared/types";
import { Notice } from "../../shared/ui";
import { cartStore, removeLine, setQty, totals, useCart } from "./cart";
import { CheckoutForm } from "./CheckoutForm";

export function CartPage() {
  const cart = useCart();
  const [done, setDone] = useState<LeadView | null>(null);
  const t = totals(cart);

  if (done)
    return (
      <div className="mx-auto max-w-xl" data-testid="order-done">
        <Notice tone="ok" title={`Заказ № ${done.id} принят`}>
          <p>Менеджер позвонит, чтобы подтвердить наличие, сроки и доставку. Номер заказа пригодится при звонке.</p>
        </Notice>
        <Link href="/" className="mt-4 inline-block text-accent underline">
          Вернуться в каталог
        </Link>
      </div>
    );

  if (!cart.lines.length)
    return (
      <div className="py-12 text-center">
        <h1 className="text-2xl font-semibold">Корзина пуста</h1>
        <p className="mt-2 text-muted">Найдите станок или запчасть по названию, артикулу или модели станка.</p>
        <Link href="/" className="mt-6 inline-block rounded-lg bg-accent px-4 py-2 text-accent-fg">
          Перейти в каталог
        </Link>
      </div>
    );

  return (
    <div className="grid gap-6 md:grid-cols-[1fr_360px]">
      <section>
        <h1 className="text-2xl font-semibold">Корзина</h1>
        <ul className="mt-4 divide-y divide-line rounded-xl border border-line bg-surface" data-testid="cart-lines">
          {cart.lines.map((l) => (
            <li key={l.id} className="flex flex-wrap items-center gap-3 p-4">
              <div className="min-w-0 flex-1">
                <Link href={`/p/${encodeURIComponent(l.id)}`} className="font-medium text-accent hover:underline">
                  {l.name}
                </Link>
                <p className="text-xs text-muted">{l.sku ? `арт. ${l.sku} · ` : ""}{priceText(l.price_rub)} за шт.</p>
              </div>
              <div className="flex items-center gap-1" aria-label={`Количество: ${l.name}`}>
                <button type="button" className="h-8 w-8 rounded-md border border-line" aria-label="Меньше" onClick={() => cartStore.update((c) => setQty(c, l.id, l.qty - 1))}>
                  −
                </button>
                <input
                  className="h-8 w-14 rounded-md border border-line bg-surface text-center"
                  type="number"
                  min={1}
                  value={l.qty}
                  aria-label="Количество"
                  onChange={(e) => cartStore.update((c) => setQty(c, l.id, Number(e.target.value)))}
                />
                <button type="button" className="h-8 w-8 rounded-md border border-line" aria-label="Больше" onClick={() => cartStore.update((c) => setQty(c, l.id, l.qty + 1))}>
                  +
                </button>
              </div>
              <p className="w-28 text-right font-semibold">{l.price_rub === null ? "по запросу" : rub(l.price_rub * l.qty)}</p>
              <button type="button" className="text-sm text-muted hover:text-danger" onClick={() => cartStore.update((c) => removeLine(c, l.id))} aria-label={`Удалить: ${l.name}`}>
                Удалить
              </button>
            </li>
          ))}
        </ul>
        <p className="mt-3 text-right text-lg" data-testid="cart-total">
          {t.items} {plural(t.items, ["товар", "товара", "товаров"])} на <span className="font-semibold">{rub(t.sum)}</span>
          {t.unpriced ? <span className="block text-sm text-muted">и позиции с ценой по запросу — менеджер назовёт цену</span> : null}
        </p>
      </section>
      <CheckoutForm onDone={setDone} />
    </div>
  );
}
