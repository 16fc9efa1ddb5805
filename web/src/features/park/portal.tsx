// What the Mini App's «Мой парк» and the field app both show of a client's park: ticket
// statuses and history, warranty, and saving a document file.

import { dateText } from "../../shared/format";
import type { Machine, TicketDetail } from "../../shared/types";

const TICKET_STATUS: Record<string, string> = {
  new: "Новая",
  accepted: "Принята",
  in_progress: "В работе",
  waiting_parts: "Ждём запчасти",
  done: "Выполнена",
  cancelled: "Отменена",
};

const status = (s: string) => TICKET_STATUS[s] ?? s;

/** `до 02.04.2027`, `истекла 01.01.2025` or `12 мес.`, from the passport (`null`: not stated). */
export function warranty(passport: Machine["passport"]): string | null {
  const until = passport.warranty_until;
  if (typeof until === "string") {
    const expired = until < new Date().toISOString().slice(0, 10);
    return `${expired ? "истекла" : "до"} ${dateText(until)}`;
  }
  const months = passport.warranty_months;
  return typeof months === "number" ? `${months} мес.` : null;
}

export function TicketList({ tickets }: { tickets: TicketDetail[] }) {
  if (tickets.length === 0) return <p className="text-sm text-muted">Открытых заявок нет.</p>;
  return (
    <ul className="space-y-2">
      {tickets.map((t) => (
        <li key={t.id} className="rounded-xl border border-line bg-surface p-3" data-testid="ticket">
          <p className="flex justify-between gap-2">
            <span className="font-medium">№ {t.id} · {t.model} ({t.serial_number})</span>
            <span className="shrink-0 rounded-full bg-bg px-2 text-sm">{status(t.status)}</span>
          </p>
          {t.description ? <p className="mt-1 text-sm">{t.description}</p> : null}
          <ol className="mt-2 border-l border-line pl-3 text-xs text-muted">
            {t.history.map((h, i) => (
              <li key={i}>
                {dateText(h.at)} — {status(h.status)}
                {h.comment ? `: ${h.comment}` : ""}
              </li>
            ))}
          </ol>
        </li>
      ))}
    </ul>
  );
}

/** Hands a file to the browser's download, as `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
