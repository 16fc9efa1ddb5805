// The digital twin: a schematic glTF of the machine's family (web/scripts/twins.mjs), orbit and
// zoom with mouse or touch, and a tap on an assembly lists the catalog's spare parts of that
// assembly's categories declared compatible with this machine's model.

import { useEffect, useMemo, useState } from "react";
import { Canvas, useFrame, useThree, type ThreeEvent } from "@react-three/fiber";
import * as THREE from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { request } from "../../shared/api";
import { priceText, stockText } from "../../shared/format";
import type { CatalogItem, Hit, SearchResponse } from "../../shared/types";
import { Button, Notice, Spinner } from "../../shared/ui";
import { CallbackDialog } from "../cart/CallbackDialog";
import { AddToCart } from "../catalog/AddToCart";
import { familyOf } from "./families";

interface Assembly {
  node: string;
  label: string;
  categories: string[];
}

declare global {
  interface Window {
    /** Test hook: the loaded assemblies, and selecting one as a tap would. */
    __stanokTwin?: { nodes: () => string[]; select: (node: string) => void };
  }
}

function Controls() {
  const { camera, gl } = useThree();
  const controls = useMemo(() => {
    const c = new OrbitControls(camera, gl.domElement);
    c.target.set(0.2, 0.75, 0);
    c.enableDamping = true;
    c.minDistance = 1.2;
    c.maxDistance = 9;
    c.update();
    return c;
  }, [camera, gl]);
  useEffect(() => () => controls.dispose(), [controls]);
  useFrame(() => controls.update());
  return null;
}

/** The assembly node a mesh belongs to (the mesh itself in the generated schematics). */
function assemblyOf(o: THREE.Object3D | null): THREE.Object3D | null {
  for (let x = o; x; x = x.parent) if (Array.isArray(x.userData?.categories)) return x;
  return null;
}

function useSchematic(family: string | null) {
  const [scene, setScene] = useState<THREE.Group | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!family) return;
    let live = true;
    new GLTFLoader().load(
      `/twins/${family}.glb`,
      (gltf) => {
        // Each mesh gets its own material, so highlighting one assembly leaves the rest.
        gltf.scene.traverse((o) => {
          if (o instanceof THREE.Mesh) o.material = (o.material as THREE.MeshStandardMaterial).clone();
        });
        if (live) setScene(gltf.scene);
      },
      undefined,
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [family]);
  return { scene, failed };
}

function PartsPanel({ model, assembly }: { model: string; assembly: Assembly | null }) {
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [quote, setQuote] = useState(false);
  useEffect(() => {
    if (!assembly) return;
    const ctl = new AbortController();
    setHits(null);
    setError(null);
    Promise.all(
      assembly.categories.map((c) =>
        request<SearchResponse>(
          `/api/v1/search?q=&kind=spare_part&compatible_with=${encodeURIComponent(model)}&category=${encodeURIComponent(c)}&limit=20`,
          { signal: ctl.signal },
        ),
      ),
    )
      .then((rs) => {
        const seen = new Set<string>();
        setHits(rs.flatMap((r) => r.hits).filter((h) => !seen.has(h.id) && seen.add(h.id)));
      })
      .catch((e: unknown) => e instanceof Error && e.name !== "AbortError" && setError(e.message));
    return () => ctl.abort();
  }, [assembly, model]);

  if (!assembly)
    return <p className="text-sm text-muted">Нажмите на узел станка, чтобы увидеть запчасти к нему для модели {model}.</p>;
  return (
    <div data-testid="twin-panel">
      <h3 className="font-semibold">{assembly.label}</h3>
      <p className="text-xs text-muted">{assembly.categories.join(" · ") || "без запчастей в каталоге"}</p>
      {error ? <Notice tone="error" title="Не удалось загрузить запчасти"><p>{error}</p></Notice> : null}
      {!hits && !error ? <Spinner /> : null}
      {hits && hits.length === 0 ? (
        <div className="mt-3 space-y-2" data-testid="twin-empty">
          <p className="text-sm">Для этого узла {model} в каталоге пока нет запчастей. Подберём по запросу: пришлите фото или номер детали.</p>
          <Button onClick={() => setQuote(true)}>Запросить подбор</Button>
        </div>
      ) : null}
      {hits && hits.length ? (
        <ul className="mt-3 max-h-80 space-y-2 overflow-y-auto pr-1">
          {hits.map((h) => (
            <li key={h.id} className="rounded-lg border border-line p-2 text-sm" data-testid="twin-part" data-id={h.id}>
              <a href={`/p/${encodeURIComponent(h.id)}`} className="font-medium text-accent hover:underline">{h.name}</a>
              <div className="mt-1 flex items-center justify-between gap-2">
                <span>
                  <b>{priceText(h.price_rub)}</b> <span className="text-xs text-muted">{stockText(h.in_stock)}</span>
                </span>
                <AddToCart item={h} compact />
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      {quote ? <CallbackDialog onClose={() => setQuote(false)} comment={`Подбор запчасти: ${assembly.label}, станок ${model}`} /> : null}
    </div>
  );
}

export default function DigitalTwinViewer({ model, category, productId }: { model: string; category: string | null; productId: string | null }) {
  const [cat, setCat] = useState(category);
  useEffect(() => {
    if (cat || !productId) return;
    request<CatalogItem>(`/api/v1/catalog/${encodeURIComponent(productId)}`)
      .then((i) => setCat(i.category))
      .catch(() => setCat(""));
  }, [cat, productId]);
  const family = familyOf(cat);
  const { scene, failed } = useSchematic(family?.id ?? null);
  const [selected, setSelected] = useState<Assembly | null>(null);

  const assemblies = useMemo(() => {
    const out = new Map<string, Assembly>();
    scene?.traverse((o) => {
      const c = o.userData?.categories;
      if (Array.isArray(c)) out.set(o.name, { node: o.name, label: String(o.userData.label ?? o.name), categories: c as string[] });
    });
    return out;
  }, [scene]);

  useEffect(() => {
    scene?.traverse((o) => {
      if (!(o instanceof THREE.Mesh)) return;
      const on = assemblyOf(o)?.name === selected?.node;
      const m = o.material as THREE.MeshStandardMaterial;
      m.emissive.set(on ? "#ff8a00" : "#000000");
      m.emissiveIntensity = on ? 0.55 : 0;
    });
  }, [scene, selected]);

  useEffect(() => {
    window.__stanokTwin = {
      nodes: () => [...assemblies.keys()],
      select: (node) => setSelected(assemblies.get(node) ?? null),
    };
    return () => {
      delete window.__stanokTwin;
    };
  }, [assemblies]);

  if (cat === null && productId) return <Spinner label="Загружаем схему…" />;
  if (!family || failed)
    return (
      <Notice title="Схема недоступна">
        <p data-testid="twin-unavailable">
          Для этой модели ({model || "без модели"}) 3D-схемы пока нет. Запчасти к ней можно найти поиском по модели станка.
        </p>
        <a className="mt-2 inline-block text-accent underline" href={`/?compatible_with=${encodeURIComponent(model)}&kind=spare_part`}>
          Все запчасти для {model}
        </a>
      </Notice>
    );

  const onClick = (e: ThreeEvent<MouseEvent>) => {
    if (e.delta > 6) return; // the end of an orbit drag, not a tap
    e.stopPropagation();
    const node = assemblyOf(e.object);
    setSelected(node ? assemblies.get(node.name) ?? null : null);
  };

  return (
    <div className="grid gap-4 md:grid-cols-[1fr_320px]">
      <div className="relative h-[360px] overflow-hidden rounded-xl border border-line bg-gradient-to-b from-slate-100 to-slate-300 md:h-[440px]">
        <span className="absolute left-3 top-3 z-10 rounded bg-surface/90 px-2 py-1 text-xs font-medium text-muted">
          Схема: {family.label.toLowerCase()} — условная геометрия, не чертёж
        </span>
        {scene ? (
          <Canvas data-testid="twin-canvas" camera={{ position: [2.9, 2.5, 3.9], fov: 42 }} gl={{ preserveDrawingBuffer: true, antialias: true }} dpr={[1, 2]}>
            <hemisphereLight args={["#ffffff", "#8a94a3", 1.1]} />
            <directionalLight position={[3, 5, 4]} intensity={1.8} />
            <primitive object={scene} onClick={onClick} />
            <gridHelper args={[6, 24, "#94a3b8", "#cbd5e1"]} />
            <Controls />
          </Canvas>
        ) : (
          <div className="p-6"><Spinner label="Загружаем модель…" /></div>
        )}
        {selected ? (
          <span className="absolute bottom-3 left-3 rounded bg-accent px-2 py-1 text-xs text-accent-fg">{selected.label}</span>
        ) : null}
      </div>
      <PartsPanel model={model} assembly={selected} />
    </div>
  );
}
