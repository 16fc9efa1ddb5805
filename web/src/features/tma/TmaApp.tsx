import { useEffect, useState } from "react";
import { Link, Route, Router, useLocation } from "wouter";
import { CatalogRoutes } from "../../app/App";
import { ApiError, request, setTelegramInitData } from "../../shared/api";
import { rub } from "../../shared/format";
import type { Me } from "../../shared/types";
import { Button, Notice, Spinner } from "../../shared/ui";
import { totals, useCart } from "../cart/cart";
import { CHECKOUT_FORM_ID } from "../cart/CheckoutForm";
import { ParkPage } from "./ParkPage";
import { rawInitData, setMainButton, showBackButton, startTelegram } from "./telegram";

type Auth = { state: "checking" } | { state: "denied" } | { state: "failed"; message: string } | { state: "ok"; me: Me | null };

/** The Mini App: the catalog and cart of the site plus "Мой парк", inside Telegram. Every
 *  request carries the raw `initData`; the server validates it, nothing here trusts it. */
export function TmaApp() {
  const [auth, setAuth] = useState<Auth>({ state: "checking" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    document.documentElement.classList.add("tma");
    startTelegram();
  }, []);

  useEffect(() => {
    const raw = rawInitData();
    if (!raw) {
      setAuth({ state: "denied" });
      return;
    }
    setTelegramInitData(raw);
    request<Me>("/api/v1/telegram/me")
      .then((me) => setAuth({ state: "ok", me }))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) setAuth({ state: "ok", me: null });
        else if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          setTelegramInitData(null);
          setAuth({ state: "denied" });
        } else setAuth({ state: "failed", message: e instanceof Error ? e.message : String(e) });
      });
  }, [attempt]);

  if (auth.state === "checking") return <div className="p-6"><Spinner label="Открываем каталог…" /></div>;
  if (auth.state === "denied") return <OpenFromTelegram />;
  if (auth.state === "failed")
    return (
      <div className="p-4">
        <Notice tone="error" title="Нет связи с сервером">
          <p>{auth.message}</p>
          <Button className="mt-3" onClick={() => setAttempt((a) => a + 1)}>Повторить</Button>
        </Notice>
      </div>
    );
  return (
    <Router base="/tma">
      <Shell me={auth.me} />
    </Router>
  );
}

function OpenFromTelegram() {
  return (
    <div className="mx-auto max-w-md p-6 text-center" data-testid="open-from-telegram">
      <h1 className="text-xl font-semibold">Откройте каталог из Telegram</h1>
      <p className="mt-2 text-muted">
        Эта страница — мини-приложение нашего Telegram-бота. Откройте её кнопкой «Каталог» в боте: так мы узнаем вас и покажем ваш парк станков.
      </p>
      <a href="/" className="mt-6 inline-block rounded-lg bg-accent px-4 py-2 text-accent-fg">
        Открыть каталог на сайте
      </a>
    </div>
  );
}

function TelegramButtons() {
  const [location, navigate] = useLocation();
  const cart = useCart();
  const t = totals(cart);
  useEffect(() => showBackButton(location !== "/", () => history.back()), [location]);
  useEffect(() => {
    if (location === "/cart") {
      return setMainButton({ text: `Оформить заказ · ${rub(t.sum)}`, visible: t.items > 0 }, () => {
        (document.getElementById(CHECKOUT_FORM_ID) as HTMLFormElement | null)?.requestSubmit();
      });
    }
    return setMainButton({ text: `Корзина · ${t.items} шт. · ${rub(t.sum)}`, visible: t.items > 0 && location !== "/park" }, () => navigate("/cart"));
  }, [location, t.items, t.sum, navigate]);
  return null;
}

function Tab({ href, children }: { href: string; children: React.ReactNode }) {
  const [location] = useLocation();
  const active = href === "/" ? location === "/" : location.startsWith(href);
  return (
    <Link href={href} className={`flex-1 py-2 text-center text-sm ${active ? "font-semibold text-accent" : "text-muted"}`} aria-current={active ? "page" : undefined}>
      {children}
    </Link>
  );
}

function Shell({ me }: { me: Me | null }) {
  const cart = useCart();
  const { items } = totals(cart);
  return (
    <div className="min-h-screen bg-bg pb-16">
      <TelegramButtons />
      <main className="px-3 py-3">
        <CatalogRoutes extra={<Route path="/park"><ParkPage me={me} /></Route>} />
      </main>
      <nav className="fixed inset-x-0 bottom-0 flex border-t border-line bg-surface" aria-label="Разделы">
        <Tab href="/">Каталог</Tab>
        <Tab href="/cart">Корзина{items ? ` (${items})` : ""}</Tab>
        <Tab href="/park">Мой парк</Tab>
      </nav>
    </div>
  );
}
