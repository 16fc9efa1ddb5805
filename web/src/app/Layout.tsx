import { useState, type ReactNode } from "react";
import { Link } from "wouter";
import { useCart, totals } from "../features/cart/cart";
import { CallbackDialog } from "../features/cart/CallbackDialog";

export function Layout({ children }: { children: ReactNode }) {
  const cart = useCart();
  const { items } = totals(cart);
  const [callback, setCallback] = useState(false);
  return (
    <>
      <header className="sticky top-0 z-20 border-b border-line bg-surface/95 backdrop-blur">
        <div className="mx-auto flex max-w-6xl items-center gap-4 px-4 py-3">
          <Link href="/" className="text-xl font-bold text-accent">
            Станок
          </Link>
          <span className="hidden text-sm text-muted md:inline">станки и запчасти с доставкой по России</span>
          <nav className="ml-auto flex items-center gap-3 text-sm">
            <a href="/journal" className="text-muted hover:text-accent">
              Журнал
            </a>
            <button type="button" className="text-muted hover:text-accent" onClick={() => setCallback(true)}>
              Заказать звонок
            </button>
            <Link href="/cart" className="rounded-lg border border-line px-3 py-1.5 hover:border-accent" data-testid="cart-link">
              Корзина{items ? <span className="ml-1 rounded-full bg-accent px-2 text-accent-fg">{items}</span> : null}
            </Link>
          </nav>
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-6">{children}</main>
      <footer className="mx-auto max-w-6xl px-4 pb-10 pt-4 text-xs text-muted">
        Цены в рублях с НДС. Наличие обновляется в течение секунды после изменения на складе.
      </footer>
      {callback ? <CallbackDialog onClose={() => setCallback(false)} /> : null}
    </>
  );
}
