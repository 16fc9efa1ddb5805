import { useEffect, useState } from "react";
import { Link } from "wouter";
import { addLine, cartStore } from "../cart/cart";
import { Button } from "../../shared/ui";

interface Item {
  id: string;
  sku: string;
  name: string;
  price_rub: number | null;
}

export function AddToCart({ item, qty = 1, compact = false }: { item: Item; qty?: number; compact?: boolean }) {
  const [added, setAdded] = useState(false);
  useEffect(() => {
    if (!added) return;
    const t = setTimeout(() => setAdded(false), 2500);
    return () => clearTimeout(t);
  }, [added]);
  return (
    <span className={`${compact ? "inline-flex" : "flex w-full"} flex-col items-stretch gap-1`}>
      <Button
        className={compact ? "px-3 py-1.5" : "w-full"}
        onClick={() => {
          cartStore.update((c) => addLine(c, { id: item.id, sku: item.sku, name: item.name, price_rub: item.price_rub }, qty));
          setAdded(true);
        }}
        aria-label={`В корзину: ${item.name}`}
      >
        {added ? "Добавлено ✓" : "В корзину"}
      </Button>
      {added ? (
        <Link href="/cart" className="text-center text-xs text-accent underline">
          Перейти в корзину
        </Link>
      ) : null}
    </span>
  );
}
