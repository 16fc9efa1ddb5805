import { useEffect, useRef, useState } from "react";
import { newKey } from "../../shared/api";
import { Button, Field, Notice, inputClass } from "../../shared/ui";
import { failure, source, submitLead } from "./checkout";
import { phoneProblem } from "./phone";

/** "Заказать звонок": a `callback` lead, one idempotency key per opened dialog. */
export function CallbackDialog({ onClose, comment = "" }: { onClose: () => void; comment?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [key] = useState(() => newKey("callback"));
  const [form, setForm] = useState({ name: "", phone: "", comment });
  const [error, setError] = useState<string | null>(null);
  const [phoneError, setPhoneError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [done, setDone] = useState<number | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const send = async () => {
    const p = phoneProblem(form.phone);
    setPhoneError(p);
    if (p || sending) return;
    setSending(true);
    setError(null);
    try {
      const lead = await submitLead(
        { source: source(), kind: "callback", contact: { name: form.name.trim(), phone: form.phone.trim() }, payload: { comment: form.comment.trim() } },
        key,
      );
      setDone(lead.id);
    } catch (e) {
      const f = failure(e);
      if (f.kind === "field") setPhoneError(f.message);
      else setError(f.message);
    } finally {
      setSending(false);
    }
  };

  return (
    <dialog ref={ref} onClose={onClose} className="m-auto w-[min(28rem,92vw)] rounded-xl border border-line bg-surface p-0 text-fg backdrop:bg-black/40" aria-label="Заказать звонок">
      <form
        method="dialog"
        className="space-y-3 p-5"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <div className="flex items-start justify-between">
          <h2 className="text-lg font-semibold">Заказать звонок</h2>
          <button type="button" aria-label="Закрыть" className="text-muted" onClick={() => ref.current?.close()}>
            ×
          </button>
        </div>
        {done !== null ? (
          <Notice tone="ok" title={`Заявка № ${done} принята`}>
            Менеджер перезвонит в рабочее время (пн–пт, 9:00–18:00 по Москве).
          </Notice>
        ) : (
          <>
            <p className="text-sm text-muted">Подберём станок или запчасть, назовём цену и сроки.</p>
            <Field label="Имя">
              <input className={inputClass} name="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            </Field>
            <Field label="Телефон" error={phoneError}>
              <input className={inputClass} name="phone" type="tel" value={form.phone} onChange={(e) => setForm({ ...form, phone: e.target.value })} />
            </Field>
            <Field label="Что нужно">
              <textarea className={inputClass} name="comment" rows={3} value={form.comment} onChange={(e) => setForm({ ...form, comment: e.target.value })} />
            </Field>
            {error ? <p className="text-sm text-danger" role="alert">{error}</p> : null}
            <Button type="submit" className="w-full" disabled={sending}>
              {sending ? "Отправляем…" : "Жду звонка"}
            </Button>
          </>
        )}
      </form>
    </dialog>
  );
}
