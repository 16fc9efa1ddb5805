// The field app's offline storage (IndexedDB through `idb`): the last good answer of each API
// read with the time it was fetched, and the SOS outbox. Used by the page and by the service
// worker (Background Sync), so both see one outbox.

import { openDB, type DBSchema } from "idb";

export interface Cached<T = unknown> {
  url: string;
  data: T;
  at: number;
}

export interface OutboxItem {
  /** The idempotency key, made when the SOS was written. */
  key: string;
  machine_id: number;
  machine_label: string;
  description: string;
  contact: { name: string; phone: string };
  photos: { name: string; type: string; blob: Blob }[];
  photos_sent: number;
  created_at: number;
  state: "pending" | "sent" | "failed";
  lead_id?: number;
  /** The lead's upload token (from its creation), needed to attach the photos. */
  upload_token?: string;
  ticket_id?: number | null;
  error?: string;
}

interface FieldDb extends DBSchema {
  cache: { key: string; value: Cached };
  outbox: { key: string; value: OutboxItem };
}

export const db = () =>
  openDB<FieldDb>("stanok-field", 1, {
    upgrade(d) {
      d.createObjectStore("cache", { keyPath: "url" });
      d.createObjectStore("outbox", { keyPath: "key" });
    },
  });

export const DOCS_CACHE = "stanok-docs";

/** Everything this device keeps for the signed-in user (on sign-out). */
export async function forgetAll(): Promise<void> {
  const d = await db();
  await d.clear("cache");
  await caches.delete(DOCS_CACHE);
}
