import { useState } from "react";
import { priceText, rub } from "../../shared/format";
import type { LeadView } from "../../shared/types";
import { Button, Field, Notice, inputClass } from "../../shared/ui";
import { cartStore, setPrices, totals, useCart } from "./cart";
import { placeOrder, type Contact, type Outcome } from "./checkout";
import { phoneProblem } from "./phone";

export const CHECKOUT_FORM_ID = "checkout-form";

export function CheckoutForm({ onDone }: { onDone: (lead: LeadView) => void }) {
  const cart = useCart();
  const [contact, setContact] = useState<Contact>({ name: "", phone: "", comment: "" });
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [phoneError, setPhoneError] = useState<string | null>(null);

  const submit = async () => {
    if (sending) return;
    const problem = phoneProblem(contact.phone);
    setPhoneError(problem);
    if (problem) return;
    setSending(true);
    setOutcome(null);
    const out = await placeOrder(cartStore.get(), contact);
    setSending(false);
    if (out.kind === "done") {
      cartStore.update(() => ({ lines: [] }));
      onDone(out.lead);
      return;
    }
    if (out.kind === "prices") cartStore.update((c) => setPrices(c, out.prices));
    if (out.kind === "field" && out.field === "contact.phone") setPhoneError(out.message);
    setOutcome(out);
  };

  const t = totals(cart);
  return (
    <form
      id={CHECKOUT_FORM_ID}
      className="h-fit space-y-3 rounded-xl border border-line bg-surface p-4"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 className="text-lg font-semibold">Оформление заказа</h2>
      <Field label="Имя">
        <input className={inputClass} name="name" autoComplete="name" value={contact.name} onChange={(e) => setContact({ ...contact, name: e.target.value })} />
      </Field>
      <Field label="Телефон" error={phoneError} hint="Любой формат: +7 912 345-67-89 или 8 (912) 345-67-89">
        <input
          className={inputClass}
          name="phone"
          type="tel"
          autoComplete="tel"
          required
          value={contact.phone}
          onChange={(e) => {
            setContact({ ...contact, phone: e.target.value });
            setPhoneError(null);
          }}
        />
      </Field>
      <Field label="Комментарий">
        <textarea className={inputClass} name="comment" rows={3} value={contact.comment} onChange={(e) => setContact({ ...contact, comment: e.target.value })} placeholder="Доставка, реквизиты, удобное время звонка" />
      </Field>
      {outcome?.kind === "prices" ? (
        <Notice tone="error" title="Цены изменились">
          <p>Пока заказ лежал в корзине, цены обновились:</p>
          <ul className="mt-1 space-y-0.5" data-testid="price-changes">
            {outcome.changes.map((c) => (
              <li key={c.id}>
                {c.name}: <s>{priceText(c.was)}</s> → <b>{priceText(c.now)}</b>
              </li>
            ))}
          </ul>
          <p className="mt-1">
            Новая сумма: <b>{rub(t.sum)}</b>. Подтвердите заказ по новым ценам.
          </p>
        </Notice>
      ) : outcome && (outcome.kind === "retry" || outcome.kind === "error") ? (
        <Notice tone="error" title={outcome.kind === "retry" ? "Заказ не отправлен" : "Не получилось оформить заказ"}>
          <p>{outcome.message}</p>
        </Notice>
      ) : outcome?.kind === "field" && outcome.field !== "contact.phone" ? (
        <Notice tone="error" title="Проверьте форму">
          <p>{outcome.message}</p>
        </Notice>
      ) : null}
      <Button type="submit" className="tma-hidden w-full" disabled={sending || !cart.lines.length} data-testid="checkout-submit">
        {sending ? "Отправляем…" : outcome?.kind === "prices" ? "Подтвердить заказ по новым ценам" : outcome?.kind === "retry" ? "Повторить" : `Оформить заказ на ${rub(t.sum)}`}
      </Button>
      <p className="text-xs text-muted">Оплата по счёту после подтверждения менеджером. Нажимая кнопку, вы соглашаетесь на обработку персональных данных.</p>
    </form>
  );
}
