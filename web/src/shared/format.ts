// Numbers and words as Russian readers expect them.

const NNBSP = "\u202f"; // narrow no-break space: the thousands separator
const NBSP = "\u00a0";

/** `1 234 567,50 ₽`: groups of three split by thin spaces, kopecks only when there are any. */
export function rub(price: number): string {
  const kopecks = Math.round(price * 100);
  const whole = Math.trunc(kopecks / 100);
  const frac = Math.abs(kopecks % 100);
  const digits = String(Math.abs(whole)).replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
  const sign = kopecks < 0 ? "−" : "";
  return `${sign}${digits}${frac ? `,${String(frac).padStart(2, "0")}` : ""}${NBSP}₽`;
}

export function priceText(price: number | null): string {
  return price === null ? "Цена по запросу" : rub(price);
}

/** The Russian plural form for `n`: `plural(5, ["позиция", "позиции", "позиций"])`. */
export function plural(n: number, forms: [string, string, string]): string {
  const a = Math.abs(n) % 100;
  const b = a % 10;
  if (a > 10 && a < 20) return forms[2];
  if (b > 1 && b < 5) return forms[1];
  if (b === 1) return forms[0];
  return forms[2];
}

export function stockText(n: number): string {
  return n > 0 ? `В наличии: ${n} шт.` : "Под заказ";
}

export function kindLabel(kind: string): string {
  return kind === "product" ? "Станок" : "Запчасть";
}

/** `2026-03-15` or an RFC 3339 time as `15.03.2026`. */
export function dateText(iso: string | null | undefined): string {
  if (!iso) return "—";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : iso;
}
