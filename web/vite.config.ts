import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { VitePWA } from "vite-plugin-pwa";

// The server (`stanok serve`) serves `dist/` itself and finds the entry chunk through the
// manifest, so the server-rendered pages load the same bundle as the app shell.
export default defineConfig({
  plugins: [
    react(),
    tailwindcss(),
    // The field engineers' PWA (/app): our own service worker (src/sw.ts) with the build's
    // files precached; registered by the app itself (features/field/pwa.ts).
    VitePWA({
      strategies: "injectManifest",
      srcDir: "src",
      filename: "sw.ts",
      injectRegister: false,
      registerType: "prompt",
      manifest: {
        name: "Станок — сервис",
        short_name: "Станок",
        description: "Парк станков, заявки на ремонт и документация — и без связи",
        lang: "ru",
        start_url: "/app/",
        scope: "/",
        display: "standalone",
        background_color: "#f5f6f8",
        theme_color: "#1d4ed8",
        // PNGs drawn by scripts/icons.mjs at build time, plus the SVG.
        icons: [
          { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "/icons/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
          { src: "/favicon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
        ],
      },
      injectManifest: {
        globPatterns: ["**/*.{js,css,html,svg}"],
        // The 3D viewer is large and needs the network for its parts anyway.
        globIgnores: ["**/DigitalTwinViewer-*.js"],
      },
    }),
  ],
  build: {
    manifest: true,
    target: "es2022",
    sourcemap: false,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/p": "http://127.0.0.1:8080", "/c": "http://127.0.0.1:8080" },
  },
});
