// Builds the single-page UI into web/dist, which the Worker serves as static assets.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 700 },
  // `npx vite --config web/vite.config.ts` for development: the API comes from a running Worker.
  server: { proxy: { '/api': { target: process.env.PORTOLAN_URL ?? 'http://127.0.0.1:8787', ws: true } } },
});
