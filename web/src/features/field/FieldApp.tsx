import { useCallback, useEffect, useState } from "react";
import { Link, Route, Router, Switch, useLocation } from "wouter";
import { ApiError, request } from "../../shared/api";
import { dateText } from "../../shared/format";
import type { ClientDocuments, ClientTickets, Me, Park } from "../../shared/types";
import { Button, Field, Notice, Spinner, inputClass } from "../../shared/ui";
import { ageText, documentBlob, keepDocuments, load, type Loaded } from "./data";
import { flushOutbox, outbox, queueSos } from "./outbox";
import { db, forgetAll, type OutboxItem } from "./store";
import { TicketList, saveBlob, warranty } from "../park/portal";
import { registerServiceWorker, useInstallPrompt, useUpdateReady } from "./pwa";

const ME_URL = "/api/v1/telegram/me";

function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener("online", on);
    window.addEventListener("offline", off);
    return () => {
      window.removeEventListener("online", on);
      window.removeEventListener("offline", off);
    };
  }, []);
  return online;
}

/** `/app/login#token=…`: the one-time link from the bot. */
function Login({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [, navigate] = useLocation();
  useEffect(() => {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    history.replaceState(null, "", location.pathname); // the token leaves the address bar and history
    if (!token) {
      setError("В ссылке нет кода входа.");
      return;
    }
    request<Me>("/api/v1/auth/session", { method: "POST", body: { token } })
      .then(async (me) => {
        // Kept like any read, so the app knows its user offline too.
        await (await db()).put("cache", { url: ME_URL, data: me, at: Date.now() });
        onSignedIn(me);
        navigate("/", { replace: true });
      })
      .catch((e: unknown) =>
        setError(e instanceof ApiError && e.status === 401 ? "Ссылка недействительна: она одноразовая и действует 15 минут." : String((e as Error).message)),
      );
  }, [navigate, onSignedIn]);
  if (!error) return <Spinner label="Входим…" />;
  return (
    <div data-testid="login-refused">
      <Notice tone="error" title="Не удалось войти">
        <p>{error}</p>
        <p className="mt-1">Отправьте боту команду /login — он пришлёт новую ссылку.</p>
      </Notice>
    </div>
  );
}

function SignIn() {
  return (
    <div className="mx-auto max-w-md py-10 text-center" data-testid="sign-in">
      <h1 className="text-xl font-semibold">Войдите через Telegram-бот</h1>
      <p className="mt-2 text-muted">Отправьте нашему боту команду /login и откройте ссылку из ответа на этом телефоне. Вход сохранится на 30 дней.</p>
    </div>
  );
}

interface ParkData {
  park: Loaded<Park>;
  tickets: Loaded<ClientTickets>;
  documents: Loaded<ClientDocuments> | null;
}

function useParkData(me: Me) {
  const [data, setData] = useState<ParkData | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const refresh = useCallback(async () => {
    const base = `/api/v1/clients/${me.client_id}`;
    try {
      const [park, tickets, documents] = await Promise.all([
        load<Park>(`${base}/park`),
        load<ClientTickets>(`${base}/tickets`),
        load<ClientDocuments>(`${base}/documents`).catch((e: unknown) => {
          if (e instanceof ApiError && e.status === 403) return null;
          throw e;
        }),
      ]);
      setData({ park, tickets, documents });
      if (documents?.fresh) {
        await keepDocuments(documents.data.documents.map((d) => `${base}/documents/${d.id}/file`)).catch(() => undefined);
      }
    } catch (e) {
      if (e instanceof ApiError) setError(e);
    }
  }, [me.client_id]);
  return { data, error, refresh };
}

function Home({ me, park }: { me: Me; park: ReturnType<typeof useParkData> }) {
  const { data, error } = park;
  if (error) return <Notice tone="error" title="Парк недоступен"><p>{error.message}</p></Notice>;
  if (!data) return <Spinner />;
  const base = `/api/v1/clients/${me.client_id}`;
  return (
    <div className="space-y-5" data-testid="field-park">
      <p className={`rounded-lg px-3 py-2 text-sm ${data.park.fresh ? "bg-surface text-muted" : "bg-danger/10 text-danger"}`} data-testid="freshness">
        {data.park.fresh ? `Обновлено ${ageText(data.park.at)}` : `Нет связи — показаны данные от ${ageText(data.park.at)}`}
      </p>
      <section>
        <h2 className="mb-2 font-semibold">Станки · {data.park.data.company}</h2>
        <ul className="space-y-2">
          {data.park.data.machines.map((m) => (
            <li key={m.id} className="rounded-xl border border-line bg-surface p-3 text-sm" data-testid="machine">
              <p className="font-medium">{m.product_name ?? m.model}</p>
              <p className="text-muted">
                {m.model} · № <span data-testid="serial">{m.serial_number}</span> · продан {dateText(m.sold_at)}
                {warranty(m.passport) ? ` · гарантия ${warranty(m.passport)}` : ""}
              </p>
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2 className="mb-2 font-semibold">Открытые заявки</h2>
        <TicketList tickets={data.tickets.data.tickets} />
      </section>
      {data.documents ? (
        <section>
          <h2 className="mb-2 font-semibold">Документация</h2>
          <ul className="space-y-1 text-sm">
            {data.documents.data.documents.map((d) => (
              <li key={d.id} className="flex items-center justify-between gap-2" data-testid="document">
                <span>{d.title} <span className="text-muted">· {d.models.join(", ")}</span></span>
                <Button
                  variant="ghost"
                  className="px-2 py-1"
                  onClick={async () => saveBlob(await documentBlob(`${base}/documents/${d.id}/file`), d.file_name)}
                >
                  Открыть
                </Button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

function OutboxList({ items }: { items: OutboxItem[] }) {
  if (!items.length) return null;
  return (
    <ul className="space-y-2" data-testid="outbox">
      {items.map((i) => (
        <li key={i.key} className="rounded-lg border border-line bg-surface p-3 text-sm" data-testid="outbox-item" data-state={i.state}>
          <p className="font-medium">SOS · {i.machine_label}</p>
          <p className="text-muted">{i.description}</p>
          <p className={i.state === "failed" ? "text-danger" : i.state === "sent" ? "text-ok" : "text-muted"}>
            {i.state === "sent"
              ? `Отправлено: заявка № ${i.lead_id}${i.ticket_id ? `, тикет № ${i.ticket_id}` : ""}`
              : i.state === "failed"
                ? `Не принято: ${i.error}`
                : `Ждёт связи — отправим сами${i.photos.length ? ` (фото: ${i.photos.length})` : ""}`}
          </p>
        </li>
      ))}
    </ul>
  );
}

function Sos({ me, park, items, onQueued }: { me: Me; park: ParkData | null; items: OutboxItem[]; onQueued: () => void }) {
  const machines = park?.park.data.machines ?? [];
  const [machine, setMachine] = useState<number | "">("");
  const [description, setDescription] = useState("");
  const [phone, setPhone] = useState(me.phone ?? "");
  const [photos, setPhotos] = useState<File[]>([]);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="space-y-4">
      <form
        className="space-y-3 rounded-xl border border-line bg-surface p-4"
        onSubmit={async (e) => {
          e.preventDefault();
          const m = machines.find((x) => x.id === machine);
          if (!m) return setError("Выберите станок");
          if (!description.trim()) return setError("Опишите, что случилось");
          if (photos.length > 5) return setError("Не больше 5 фото");
          setError(null);
          await queueSos({
            machine_id: m.id,
            machine_label: `${m.model} № ${m.serial_number}`,
            description: description.trim(),
            contact: { name: me.first_name, phone },
            photos: photos.map((p) => ({ name: p.name, type: p.type, blob: p })),
          });
          setDescription("");
          setPhotos([]);
          onQueued();
        }}
      >
        <h1 className="text-lg font-semibold">SOS: вызов сервисного инженера</h1>
        <Field label="Станок">
          <select className={inputClass} value={machine} onChange={(e) => setMachine(Number(e.target.value) || "")} name="machine">
            <option value="">— выберите —</option>
            {machines.map((m) => (
              <option key={m.id} value={m.id}>{m.model} № {m.serial_number}</option>
            ))}
          </select>
        </Field>
        <Field label="Что случилось">
          <textarea className={inputClass} rows={4} name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <Field label="Телефон для связи">
          <input className={inputClass} name="phone" type="tel" value={phone} onChange={(e) => setPhone(e.target.value)} />
        </Field>
        <Field label="Фото (до 5)">
          <input type="file" accept="image/*" multiple name="photos" onChange={(e) => setPhotos([...(e.target.files ?? [])].slice(0, 5))} />
        </Field>
        {error ? <p className="text-sm text-danger" role="alert">{error}</p> : null}
        <Button type="submit" className="w-full">Отправить SOS</Button>
        <p className="text-xs text-muted">Без связи заявка сохранится в телефоне и уйдёт сама, когда связь появится — один раз.</p>
      </form>
      <OutboxList items={items} />
    </div>
  );
}

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const online = useOnline();
  const park = useParkData(me);
  const [items, setItems] = useState<OutboxItem[]>([]);
  const update = useUpdateReady();
  const install = useInstallPrompt();
  const sync = useCallback(async () => {
    await flushOutbox().catch(() => 0);
    setItems(await outbox());
  }, []);
  const { refresh } = park;
  useEffect(() => {
    void refresh();
    void sync();
  }, [refresh, sync]);
  useEffect(() => {
    if (online) {
      void sync();
      void refresh();
    }
  }, [online, sync, refresh]);
  // While something waits, try again every few seconds: the `online` event is not the only
  // sign of a connection (a server that was down comes back without one).
  const waiting = items.some((i) => i.state === "pending");
  useEffect(() => {
    if (!waiting) return;
    const t = setInterval(() => navigator.onLine && void sync(), 5000);
    return () => clearInterval(t);
  }, [waiting, sync]);
  const queued = async () => {
    setItems(await outbox());
    const reg = await navigator.serviceWorker?.ready.catch(() => null);
    await (reg as (ServiceWorkerRegistration & { sync?: { register: (t: string) => Promise<void> } }) | null)?.sync?.register("sos-outbox").catch(() => undefined);
    await sync();
  };
  return (
    <div className="min-h-screen bg-bg pb-16">
      <header className="sticky top-0 z-10 flex items-center justify-between border-b border-line bg-surface px-4 py-3">
        <span className="font-bold text-accent">Станок · сервис</span>
        <span className={`text-xs ${online ? "text-ok" : "text-danger"}`} data-testid="online">{online ? "в сети" : "нет связи"}</span>
      </header>
      {update.ready ? (
        <div className="flex items-center justify-between gap-2 bg-accent px-4 py-2 text-sm text-accent-fg" role="status">
          Доступна новая версия приложения
          <button type="button" className="rounded border border-white/60 px-2 py-0.5" onClick={update.apply}>Обновить</button>
        </div>
      ) : null}
      {install.available ? (
        <div className="flex items-center justify-between gap-2 border-b border-line bg-surface px-4 py-2 text-sm">
          Установите приложение на главный экран — оно работает без связи
          <button type="button" className="rounded border border-line px-2 py-0.5" onClick={install.prompt}>Установить</button>
        </div>
      ) : null}
      <main className="px-4 py-4">
        <Switch>
          <Route path="/sos">
            <Sos me={me} park={park.data} items={items} onQueued={() => void queued()} />
          </Route>
          <Route>
            <Home me={me} park={park} />
            {items.some((i) => i.state !== "sent") ? <div className="mt-5"><OutboxList items={items.filter((i) => i.state !== "sent")} /></div> : null}
            <button type="button" className="mt-8 text-sm text-muted underline" onClick={onSignOut}>Выйти на этом устройстве</button>
          </Route>
        </Switch>
      </main>
      <nav className="fixed inset-x-0 bottom-0 flex border-t border-line bg-surface text-sm" aria-label="Разделы">
        <Link href="/" className="flex-1 py-2 text-center">Парк</Link>
        <Link href="/sos" className="flex-1 py-2 text-center font-semibold text-danger">SOS</Link>
      </nav>
    </div>
  );
}

/** The field engineers' PWA at `/app`: sign-in by a link from the bot, the park, tickets and
 *  documents kept for offline use, and an SOS that waits for the connection. */
export function FieldApp() {
  const [me, setMe] = useState<Me | null | "unknown">("unknown");
  useEffect(() => {
    registerServiceWorker();
    if (location.pathname.startsWith("/app/login")) return;
    load<Me>(ME_URL)
      .then((r) => setMe(r.data))
      .catch(() => setMe(null));
  }, []);
  const signOut = async () => {
    await request("/api/v1/auth/logout", { method: "POST" }).catch(() => undefined);
    await forgetAll();
    setMe(null);
  };
  return (
    <Router base="/app">
      <Switch>
        <Route path="/login">
          <div className="p-4"><Login onSignedIn={setMe} /></div>
        </Route>
        <Route>
          {me === "unknown" ? <div className="p-6"><Spinner /></div> : me === null || me.client_id === null ? <SignIn /> : <Shell me={me} onSignOut={() => void signOut()} />}
        </Route>
      </Switch>
    </Router>
  );
}
