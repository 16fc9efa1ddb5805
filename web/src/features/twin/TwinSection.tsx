import { lazy, Suspense, useState } from "react";
import { Button, Spinner } from "../../shared/ui";

// three.js and the viewer load only when someone opens the schematic.
const DigitalTwinViewer = lazy(() => import("./DigitalTwinViewer"));

/** "3D-схема" of a machine: a button that loads the viewer on demand. */
export function TwinSection({ model, category, productId }: { model: string; category?: string | null; productId?: string | null }) {
  const [open, setOpen] = useState(false);
  return (
    <section className="mt-6" data-testid="twin-section">
      {open ? (
        <Suspense fallback={<Spinner label="Загружаем 3D-схему…" />}>
          <DigitalTwinViewer model={model} category={category ?? null} productId={productId ?? null} />
        </Suspense>
      ) : (
        <Button variant="ghost" onClick={() => setOpen(true)}>
          3D-схема станка: найти запчасть по узлу
        </Button>
      )}
    </section>
  );
}
