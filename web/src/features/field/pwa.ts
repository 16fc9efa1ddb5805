// Service worker registration, the "new version" prompt and the install hint.

import { useEffect, useState } from "react";
import { Workbox } from "workbox-window";

let wb: Workbox | null = null;
const listeners = new Set<() => void>();
let waiting = false;

export function registerServiceWorker(): void {
  if (wb || !("serviceWorker" in navigator) || import.meta.env.DEV) return;
  wb = new Workbox("/sw.js", { scope: "/" });
  wb.addEventListener("waiting", () => {
    waiting = true;
    listeners.forEach((l) => l());
  });
  // The new worker took over after "Обновить": load the new app.
  wb.addEventListener("controlling", (e) => {
    if (e.isUpdate) location.reload();
  });
  void wb.register();
}

export function useUpdateReady(): { ready: boolean; apply: () => void } {
  const [ready, setReady] = useState(waiting);
  useEffect(() => {
    const l = () => setReady(true);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return { ready, apply: () => wb?.messageSkipWaiting() };
}

interface InstallEvent extends Event {
  prompt: () => Promise<void>;
}

export function useInstallPrompt(): { available: boolean; prompt: () => void } {
  const [event, setEvent] = useState<InstallEvent | null>(null);
  useEffect(() => {
    const on = (e: Event) => {
      e.preventDefault();
      setEvent(e as InstallEvent);
    };
    window.addEventListener("beforeinstallprompt", on);
    return () => window.removeEventListener("beforeinstallprompt", on);
  }, []);
  return { available: event !== null, prompt: () => void event?.prompt().then(() => setEvent(null)) };
}
