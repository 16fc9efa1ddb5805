// The one HTTP client of the app: JSON in and out, the server's error shape
// `{"error":{"code","message","field"?}}` turned into `ApiError`, and the Mini App's
// `Authorization: tma <initData>` added when the app runs inside Telegram.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
  /** No answer from the server at all (offline, connection reset). */
  get network(): boolean {
    return this.status === 0;
  }
}

let authorization: string | null = null;

/** Sends `Authorization: tma <initData>` with every request from now on (Mini App mode). */
export function setTelegramInitData(raw: string | null): void {
  authorization = raw ? `tma ${raw}` : null;
}

export function hasTelegramAuth(): boolean {
  return authorization !== null;
}

export interface RequestOptions {
  method?: "GET" | "POST";
  body?: unknown;
  /** A body sent as it is (a file), instead of JSON. */
  rawBody?: Blob;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function requestRaw(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
  if (authorization) headers.authorization = authorization;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? "GET",
      headers,
      body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      credentials: "same-origin",
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Нет связи с сервером. Проверьте подключение и повторите.");
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await requestRaw(path, opts);
  return (await res.json()) as T;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error?.message) {
      const { code, message, field } = body.error;
      // Beside its form field, the message reads better without the field's technical name.
      const text = field ? message.replace(`Неверный параметр «${field}»: `, "") : message;
      return new ApiError(res.status, code ?? "error", text.charAt(0).toUpperCase() + text.slice(1), field);
    }
  } catch {
    // not our JSON: a proxy's page or an empty body
  }
  return new ApiError(res.status, "http", fallbackMessage(res.status));
}

function fallbackMessage(status: number): string {
  if (status === 503) return "Каталог обновляется. Попробуйте через минуту.";
  if (status >= 500) return "Ошибка на сервере. Попробуйте ещё раз через минуту.";
  return `Запрос не выполнен (код ${status}).`;
}

/** A fresh random idempotency key. */
export function newKey(prefix: string): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
