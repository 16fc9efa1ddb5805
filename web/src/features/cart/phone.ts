// A first look at a typed phone number before it is sent; the server has the last word
// (it normalises to E.164 and answers with a message for the field).

/** `null` when the number looks like a Russian one, else what to tell the person. */
export function phoneProblem(input: string): string | null {
  const t = input.trim();
  if (!t) return "Укажите телефон, чтобы менеджер мог связаться";
  if (/[^\d\s()+\-.]/.test(t)) return "В номере только цифры, пробелы, скобки и дефисы";
  const digits = t.replace(/\D/g, "");
  if (digits.length === 10 && digits.startsWith("9")) return null;
  if (digits.length === 11 && (digits.startsWith("7") || digits.startsWith("8"))) return null;
  if (t.startsWith("+") && digits.length >= 8 && digits.length <= 15) return null;
  return "Номер не распознан; пример: +7 912 345-67-89 или 8 (912) 345-67-89";
}
