import { useEffect, useState } from "react";
import { Link } from "wouter";
import { ApiError, request, requestRaw } from "../../shared/api";
import { dateText } from "../../shared/format";
import type { ClientDocuments, ClientTickets, KbDocument, Me, Park } from "../../shared/types";
import { Button, Notice, Spinner } from "../../shared/ui";
import { TwinSection } from "../twin/TwinSection";
import { TicketList, saveBlob, warranty } from "../park/portal";

interface Data {
  park: Park;
  tickets: ClientTickets;
  documents: ClientDocuments | ApiError;
}

async function openDocument(clientId: number, d: KbDocument) {
  const res = await requestRaw(`/api/v1/clients/${clientId}/documents/${d.id}/file`);
  saveBlob(await res.blob(), d.file_name);
}

export function ParkPage({ me }: { me: Me | null }) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const clientId = me?.client_id ?? null;

  useEffect(() => {
    if (clientId === null) return;
    const base = `/api/v1/clients/${clientId}`;
    Promise.all([
      request<Park>(`${base}/park`),
      request<ClientTickets>(`${base}/tickets`),
      request<ClientDocuments>(`${base}/documents`).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 403) return e;
        throw e;
      }),
    ])
      .then(([park, tickets, documents]) => setData({ park, tickets, documents }))
      .catch((e: unknown) => e instanceof ApiError && setError(e));
  }, [clientId]);

  if (clientId === null)
    return (
      <Notice title="Парк станков не привязан">
        <p>Отправьте боту свой номер телефона (/start): если он есть в договоре, мы покажем здесь ваши станки, заявки на ремонт и документацию.</p>
      </Notice>
    );
  if (error) return <Notice tone="error" title="Не удалось загрузить парк"><p>{error.message}</p></Notice>;
  if (!data) return <Spinner />;
  const { park, tickets, documents } = data;
  return (
    <div className="space-y-6" data-testid="park">
      <header>
        <h1 className="text-xl font-semibold">Мой парк</h1>
        <p className="text-sm text-muted">{park.company}</p>
      </header>
      <section>
        <h2 className="mb-2 font-semibold">Станки · {park.machines.length}</h2>
        {park.machines.length === 0 ? <p className="text-sm text-muted">Станков пока нет: они появятся здесь после покупки.</p> : null}
        <ul className="space-y-2">
          {park.machines.map((m) => {
            const w = warranty(m.passport);
            return (
              <li key={m.id} className="rounded-xl border border-line bg-surface p-3" data-testid="machine">
                <p className="font-medium">{m.product_name ?? m.model}</p>
                <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-sm">
                  <dt className="text-muted">Модель</dt>
                  <dd className="font-mono">{m.model}</dd>
                  <dt className="text-muted">Заводской №</dt>
                  <dd className="font-mono" data-testid="serial">{m.serial_number}</dd>
                  <dt className="text-muted">Продан</dt>
                  <dd>{dateText(m.sold_at)}</dd>
                  {m.commissioned_at ? (
                    <>
                      <dt className="text-muted">Введён в эксплуатацию</dt>
                      <dd>{dateText(m.commissioned_at)}</dd>
                    </>
                  ) : null}
                  <dt className="text-muted">Гарантия</dt>
                  <dd>{w ?? "—"}</dd>
                </dl>
                <div className="mt-2 flex gap-3 text-sm">
                  {m.product_id ? <Link href={`/p/${encodeURIComponent(m.product_id)}`} className="text-accent underline">Карточка станка</Link> : null}
                  <Link href={`/?compatible_with=${encodeURIComponent(m.model)}&kind=spare_part`} className="text-accent underline">Запчасти</Link>
                </div>
                <TwinSection model={m.model} productId={m.product_id} />
              </li>
            );
          })}
        </ul>
      </section>
      <section>
        <h2 className="mb-2 font-semibold">Заявки на ремонт</h2>
        <TicketList tickets={tickets.tickets} />
      </section>
      <section>
        <h2 className="mb-2 font-semibold">Документация</h2>
        {documents instanceof ApiError ? (
          <p className="text-sm text-muted">Документация доступна инженерам и руководителю.</p>
        ) : documents.documents.length === 0 ? (
          <p className="text-sm text-muted">Для моделей вашего парка документов пока нет.</p>
        ) : (
          <ul className="space-y-1">
            {documents.documents.map((d) => (
              <li key={d.id} className="flex items-center justify-between gap-2 text-sm" data-testid="document">
                <span>
                  {d.title} <span className="text-muted">· {d.models.join(", ")} · {Math.max(1, Math.round(d.size_bytes / 1024))} КБ</span>
                </span>
                <Button variant="ghost" className="px-2 py-1" onClick={() => void openDocument(park.client_id, d)}>Скачать</Button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
