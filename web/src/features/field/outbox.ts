// The SOS outbox: an SOS written offline waits here with the idempotency key made when it was
// written, and is sent when the connection is back — on the `online` event, when the app
// opens, or from the service worker's Background Sync. The server answers a repeated key with
// the first lead and keeps one copy of a repeated file, and a Web Lock lets one sender run at
// a time, so an SOS becomes exactly one lead and one ticket. A 4xx answer is final: the item
// is marked failed with the server's message and not retried.

import { ApiError, newKey, request, requestRaw } from "../../shared/api";
import type { LeadView } from "../../shared/types";
import { db, type OutboxItem } from "./store";

export async function queueSos(item: Omit<OutboxItem, "key" | "photos_sent" | "created_at" | "state">): Promise<OutboxItem> {
  const full: OutboxItem = { ...item, key: newKey("sos"), photos_sent: 0, created_at: Date.now(), state: "pending" };
  await (await db()).put("outbox", full);
  return full;
}

export async function outbox(): Promise<OutboxItem[]> {
  const items = await (await db()).getAll("outbox");
  return items.sort((a, b) => b.created_at - a.created_at);
}

/** A request that hangs is given up and tried again later (with the same key). */
const TIMEOUT_MS = 30_000;

function permanent(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}

async function send(item: OutboxItem): Promise<OutboxItem> {
  const d = await db();
  let cur = item;
  if (cur.lead_id === undefined) {
    const lead = await request<LeadView>("/api/v1/leads", {
      method: "POST",
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: { "idempotency-key": cur.key },
      body: {
        source: "site",
        kind: "sos",
        contact: cur.contact,
        payload: { machine_instance_id: cur.machine_id, description: cur.description },
      },
    });
    cur = { ...cur, lead_id: lead.id, ticket_id: lead.ticket_id, upload_token: lead.upload_token };
    await d.put("outbox", cur);
  }
  for (let i = cur.photos_sent; i < cur.photos.length; i++) {
    const p = cur.photos[i];
    await requestRaw(`/api/v1/leads/${cur.lead_id}/attachments?name=${encodeURIComponent(p.name)}`, {
      method: "POST",
      signal: AbortSignal.timeout(TIMEOUT_MS),
      rawBody: p.blob,
      headers: { "content-type": p.type || "application/octet-stream", "x-upload-token": cur.upload_token ?? "" },
    });
    cur = { ...cur, photos_sent: i + 1 };
    await d.put("outbox", cur);
  }
  cur = { ...cur, state: "sent", error: undefined };
  await d.put("outbox", cur);
  return cur;
}

async function flushNow(): Promise<number> {
  let sent = 0;
  for (const item of await outbox()) {
    if (item.state !== "pending") continue;
    if (typeof navigator !== "undefined" && navigator.onLine === false) break;
    try {
      await send(item);
      sent++;
    } catch (e) {
      if (permanent(e)) {
        await (await db()).put("outbox", { ...item, state: "failed", error: e.message });
      } else {
        break; // offline or the server is down: try again on the next occasion
      }
    }
  }
  return sent;
}

/** Sends every pending SOS; returns how many went out. One sender at a time per device: if
 *  another (the page or the service worker) is already sending, this one leaves it to it. */
export async function flushOutbox(): Promise<number> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return flushNow();
  return locks.request("stanok-sos-outbox", { ifAvailable: true }, (lock) => (lock ? flushNow() : 0));
}
