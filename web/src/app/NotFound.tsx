import { Link } from "wouter";

export function NotFound() {
  return (
    <div className="py-16 text-center">
      <h1 className="text-2xl font-semibold">Страница не найдена</h1>
      <p className="mt-2 text-muted">Такой страницы нет: возможно, позицию убрали из каталога. Найдите нужное через поиск.</p>
      <Link href="/" className="mt-6 inline-block rounded-lg bg-accent px-4 py-2 text-accent-fg">
        Перейти в каталог
      </Link>
    </div>
  );
}
