import type { ButtonHTMLAttributes, ReactNode } from "react";

export function Button({ className = "", variant = "primary", ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "ghost" }) {
  const base = "inline-flex items-center justify-center gap-2 rounded-lg px-4 py-2 text-sm font-medium transition disabled:cursor-not-allowed disabled:opacity-60";
  const look = variant === "primary" ? "bg-accent text-accent-fg hover:brightness-110" : "border border-line bg-surface hover:border-accent";
  return <button type="button" className={`${base} ${look} ${className}`} {...rest} />;
}

export function Notice({ tone = "info", title, children }: { tone?: "info" | "error" | "ok"; title: string; children?: ReactNode }) {
  const color = tone === "error" ? "border-danger/40" : tone === "ok" ? "border-ok/40" : "border-line";
  return (
    <div role={tone === "error" ? "alert" : "status"} className={`rounded-xl border ${color} bg-surface p-4`}>
      <p className={`font-semibold ${tone === "error" ? "text-danger" : tone === "ok" ? "text-ok" : ""}`}>{title}</p>
      {children ? <div className="mt-1 text-sm text-muted">{children}</div> : null}
    </div>
  );
}

export function Spinner({ label = "Загрузка…" }: { label?: string }) {
  return (
    <p className="flex items-center gap-2 text-sm text-muted" role="status">
      <span className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-line border-t-accent" />
      {label}
    </p>
  );
}

export function Field({ label, error, children, hint }: { label: string; error?: string | null; hint?: string; children: ReactNode }) {
  return (
    <label className="block text-sm">
      <span className="mb-1 block font-medium">{label}</span>
      {children}
      {error ? <span className="mt-1 block text-danger" role="alert">{error}</span> : hint ? <span className="mt-1 block text-muted">{hint}</span> : null}
    </label>
  );
}

export const inputClass = "w-full rounded-lg border border-line bg-surface px-3 py-2 outline-none focus:border-accent";
