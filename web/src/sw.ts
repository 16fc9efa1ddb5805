/// <reference lib="webworker" />
// The service worker of the field app (/app): the app shell precached (it opens offline),
// navigations under /app answered with it, and Background Sync sending the SOS outbox. API
// reads are not cached here: the page keeps them in IndexedDB and says how old they are.
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";
import { flushOutbox } from "./features/field/outbox";

declare const self: ServiceWorkerGlobalScope;

cleanupOutdatedCaches();
precacheAndRoute(self.__WB_MANIFEST);
registerRoute(new NavigationRoute(createHandlerBoundToURL("/index.html"), { allowlist: [/^\/app(\/|$)/] }));
// The first install takes the open page at once; an update waits until the page says so
// (the "new version" prompt) or until every tab of the old one is closed.
clientsClaim();
self.addEventListener("message", (e) => {
  if (e.data?.type === "SKIP_WAITING") void self.skipWaiting();
});
self.addEventListener("sync", (e: Event) => {
  const s = e as Event & { tag: string; waitUntil: (p: Promise<unknown>) => void };
  if (s.tag === "sos-outbox") s.waitUntil(flushOutbox());
});
