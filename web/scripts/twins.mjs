// Generates the digital twin's schematic machine models: one binary glTF per machine family
// of src/features/twin/families.json, each assembly a named node whose `extras` carry its
// Russian label and the catalog categories of its spare parts. These are honest schematics
// (boxes and cylinders), not CAD geometry: a real CAD export with the same node names and
// extras can replace a file without code changes.
//
//   node scripts/twins.mjs OUT_DIR      (npm run build writes dist/twins)

import { Document, NodeIO } from "@gltf-transform/core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { families } = JSON.parse(readFileSync(join(here, "../src/features/twin/families.json"), "utf8"));
const out = process.argv[2] ?? join(here, "../dist/twins");

function box([w, h, d]) {
  const [x, y, z] = [w / 2, h / 2, d / 2];
  // One quad per face with its own normal: [normal, 4 corners counter-clockwise seen from outside].
  const faces = [
    [[1, 0, 0], [[x, -y, z], [x, -y, -z], [x, y, -z], [x, y, z]]],
    [[-1, 0, 0], [[-x, -y, -z], [-x, -y, z], [-x, y, z], [-x, y, -z]]],
    [[0, 1, 0], [[-x, y, z], [x, y, z], [x, y, -z], [-x, y, -z]]],
    [[0, -1, 0], [[-x, -y, -z], [x, -y, -z], [x, -y, z], [-x, -y, z]]],
    [[0, 0, 1], [[-x, -y, z], [x, -y, z], [x, y, z], [-x, y, z]]],
    [[0, 0, -1], [[x, -y, -z], [-x, -y, -z], [-x, y, -z], [x, y, -z]]],
  ];
  const pos = [], nor = [], idx = [];
  faces.forEach(([n, corners], f) => {
    for (const c of corners) {
      pos.push(...c);
      nor.push(...n);
    }
    const b = f * 4;
    idx.push(b, b + 1, b + 2, b, b + 2, b + 3);
  });
  return { pos, nor, idx };
}

/** A cylinder along y: radius r, length l, `seg` sides, with caps. */
function cylinder([r, l], seg = 32) {
  const pos = [], nor = [], idx = [];
  const h = l / 2;
  for (let i = 0; i <= seg; i++) {
    const a = (i / seg) * Math.PI * 2;
    const [c, s] = [Math.cos(a), Math.sin(a)];
    pos.push(r * c, -h, r * s, r * c, h, r * s);
    nor.push(c, 0, s, c, 0, s);
  }
  for (let i = 0; i < seg; i++) {
    const b = i * 2;
    idx.push(b, b + 1, b + 3, b, b + 3, b + 2);
  }
  for (const [y, ny] of [[h, 1], [-h, -1]]) {
    const centre = pos.length / 3;
    pos.push(0, y, 0);
    nor.push(0, ny, 0);
    for (let i = 0; i <= seg; i++) {
      const a = (i / seg) * Math.PI * 2;
      pos.push(r * Math.cos(a), y, r * Math.sin(a));
      nor.push(0, ny, 0);
    }
    for (let i = 0; i < seg; i++) {
      const a = centre + 1 + i, b = centre + 2 + i;
      if (ny > 0) idx.push(centre, b, a);
      else idx.push(centre, a, b);
    }
  }
  return { pos, nor, idx };
}

const S = Math.SQRT1_2;
const ROTATION = { x: [0, 0, -S, S], y: [0, 0, 0, 1], z: [S, 0, 0, S] };

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  // glTF colours are linear; the hex values are sRGB.
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => Math.pow(c / 255, 2.2));
}

mkdirSync(out, { recursive: true });
const io = new NodeIO();
for (const [family, spec] of Object.entries(families)) {
  const doc = new Document();
  const buffer = doc.createBuffer();
  const scene = doc.createScene(family).setExtras({ family, label: spec.label, schematic: true });
  for (const a of spec.assemblies) {
    const g = a.shape === "box" ? box(a.size) : cylinder(a.size);
    const accessor = (type, array) => doc.createAccessor().setType(type).setArray(array).setBuffer(buffer);
    const material = doc
      .createMaterial(a.node)
      .setBaseColorFactor([...rgb(a.color), 1])
      .setMetallicFactor(0.15)
      .setRoughnessFactor(0.65);
    const primitive = doc
      .createPrimitive()
      .setAttribute("POSITION", accessor("VEC3", new Float32Array(g.pos)))
      .setAttribute("NORMAL", accessor("VEC3", new Float32Array(g.nor)))
      .setIndices(accessor("SCALAR", new Uint16Array(g.idx)))
      .setMaterial(material);
    const node = doc
      .createNode(a.node)
      .setMesh(doc.createMesh(a.node).addPrimitive(primitive))
      .setTranslation(a.at)
      .setRotation(a.shape === "cyl" ? ROTATION[a.axis ?? "y"] : [0, 0, 0, 1])
      .setExtras({ label: a.label, categories: a.categories });
    scene.addChild(node);
  }
  doc.getRoot().setDefaultScene(scene);
  const glb = await io.writeBinary(doc);
  writeFileSync(join(out, `${family}.glb`), glb);
  console.log(`twins: ${family}.glb ${glb.length} bytes, ${spec.assemblies.length} assemblies`);
}
