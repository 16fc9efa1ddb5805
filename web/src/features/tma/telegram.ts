// The Telegram side of the Mini App, through @telegram-apps/sdk: launch data, theme as CSS
// variables, BackButton and MainButton. Every call is guarded: a client that lacks a feature
// (or an old Telegram version) loses that feature, not the app.

import { backButton, init, mainButton, miniApp, retrieveRawInitData, themeParams, viewport } from "@telegram-apps/sdk";

/** The raw `initData` string Telegram passed to the Mini App (`null` outside Telegram). */
export function rawInitData(): string | null {
  try {
    return retrieveRawInitData() ?? null;
  } catch {
    return null;
  }
}

function attempt(what: string, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    console.warn(`telegram: ${what} unavailable`, e);
  }
}

/** Starts the SDK and binds the theme; `true` when the Telegram bridge answered. */
export function startTelegram(): boolean {
  try {
    init();
  } catch (e) {
    console.warn("telegram: not inside Telegram", e);
    return false;
  }
  attempt("theme", () => {
    if (themeParams.mountSync.isAvailable()) {
      themeParams.mountSync();
      themeParams.bindCssVars();
    }
  });
  attempt("mini app", () => {
    if (miniApp.mountSync.isAvailable()) {
      miniApp.mountSync();
      miniApp.bindCssVars();
    }
    if (miniApp.ready.isAvailable()) miniApp.ready();
  });
  attempt("viewport", () => {
    if (viewport.expand.isAvailable()) viewport.expand();
  });
  attempt("back button", () => backButton.mount.isAvailable() && backButton.mount());
  attempt("main button", () => mainButton.mount.isAvailable() && mainButton.mount());
  return true;
}

export function showBackButton(visible: boolean, onClick: () => void): () => void {
  let off: (() => void) | undefined;
  attempt("back button", () => {
    if (!backButton.isMounted()) return;
    if (visible) {
      backButton.show();
      off = backButton.onClick(onClick);
    } else backButton.hide();
  });
  return () => off?.();
}

export function setMainButton(params: { text: string; visible: boolean; enabled?: boolean; loading?: boolean }, onClick: () => void): () => void {
  let off: (() => void) | undefined;
  attempt("main button", () => {
    if (!mainButton.isMounted()) return;
    mainButton.setParams({
      text: params.text,
      isVisible: params.visible,
      isEnabled: params.enabled ?? true,
      isLoaderVisible: params.loading ?? false,
    });
    if (params.visible) off = mainButton.onClick(onClick);
  });
  return () => off?.();
}
