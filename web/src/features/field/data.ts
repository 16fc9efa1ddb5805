// Reads for the field app: from the network when there is one (and then kept in IndexedDB with
// the time), else the kept copy, which the page always marks with its age. Documents of the
// park's models are kept in the Cache API so they open offline.

import { ApiError, request } from "../../shared/api";
import { DOCS_CACHE, db } from "./store";

export interface Loaded<T> {
  data: T;
  /** When this answer came from the server (ms since epoch). */
  at: number;
  /** `false`: the network failed and this is the kept copy. */
  fresh: boolean;
}

export async function load<T>(url: string): Promise<Loaded<T>> {
  const d = await db();
  if (navigator.onLine !== false) {
    try {
      const data = await request<T>(url);
      const at = Date.now();
      await d.put("cache", { url, data, at });
      return { data, at, fresh: true };
    } catch (e) {
      // The server's "no" (a revoked session, another client's park) is final: no stale copy.
      if (e instanceof ApiError && !e.network && e.status < 500) throw e;
    }
  }
  const kept = await d.get("cache", url);
  if (!kept) throw new ApiError(0, "network", "Нет связи, а сохранённых данных ещё нет. Откройте приложение при связи хотя бы раз.");
  return { data: kept.data as T, at: kept.at, fresh: false };
}

/** Keeps the files at these URLs for offline reading (already kept ones are refreshed). */
export async function keepDocuments(urls: string[]): Promise<void> {
  const cache = await caches.open(DOCS_CACHE);
  await Promise.all(
    urls.map(async (u) => {
      const res = await fetch(u, { credentials: "same-origin" });
      if (res.ok) await cache.put(u, res);
    }),
  );
}

/** A kept or fetched document as a blob. */
export async function documentBlob(url: string): Promise<Blob> {
  const kept = await (await caches.open(DOCS_CACHE)).match(url);
  if (kept) return kept.blob();
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new ApiError(res.status, "http", "Документ недоступен без связи");
  return res.blob();
}

export function ageText(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getDate())}.${pad(d.getMonth() + 1)}.${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
