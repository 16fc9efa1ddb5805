// Generates the PWA's PNG icons (192 and 512 px, plus a maskable 512) from the same simple
// drawing as public/favicon.svg, with a minimal PNG encoder: no image library needed.
//
//   node scripts/icons.mjs OUT_DIR      (npm run build writes dist/icons)

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

const out = process.argv[2] ?? "dist/icons";

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(pixel(x / size, y / size), y * (size * 4 + 1) + 1 + x * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// The favicon's shapes on a 32-unit grid: bed, headstock, carriage, spindle nose.
const RECTS = [
  [7, 22, 18, 3],
  [9, 10, 6, 10],
  [17, 14, 6, 6],
  [11, 6, 2, 4],
];
const BLUE = [0x1d, 0x4e, 0xd8, 255];
const WHITE = [255, 255, 255, 255];
function draw(u, v, { radius, inset }) {
  // Maskable icons keep the drawing inside the central safe zone.
  const s = inset ? (u - 0.5) / 0.7 + 0.5 : u;
  const t = inset ? (v - 0.5) / 0.7 + 0.5 : v;
  const [x, y] = [s * 32, t * 32];
  const r = radius / 32;
  const cx = Math.min(Math.max(u, r), 1 - r);
  const cy = Math.min(Math.max(v, r), 1 - r);
  if (radius && (u - cx) ** 2 + (v - cy) ** 2 > r * r) return [0, 0, 0, 0];
  return RECTS.some(([rx, ry, w, h]) => x >= rx && x < rx + w && y >= ry && y < ry + h) ? WHITE : BLUE;
}

mkdirSync(out, { recursive: true });
for (const [name, size, opts] of [
  ["icon-192.png", 192, { radius: 7, inset: false }],
  ["icon-512.png", 512, { radius: 7, inset: false }],
  ["icon-maskable-512.png", 512, { radius: 0, inset: true }],
]) {
  writeFileSync(join(out, name), png(size, (u, v) => draw(u, v, opts)));
}
console.log(`icons: written to ${out}`);
