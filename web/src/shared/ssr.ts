// Data the server embedded in a rendered page (`<script id="ssr-data">`), read once: the first
// render of that page needs no request, later navigations fetch as usual.

let consumed = false;

export function takeSsrData<T>(page: string): T | null {
  if (consumed || typeof document === "undefined") return null;
  consumed = true;
  const el = document.getElementById("ssr-data");
  if (!el?.textContent) return null;
  try {
    const data = JSON.parse(el.textContent) as { page?: string };
    return data.page === page ? (data as T) : null;
  } catch {
    return null;
  }
}
