import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/ as static files; `promptops serve` serves them on its own port (same origin as the API).
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: {
      // The one piece of core logic the browser runs (the rollback target). Core's index would also bring
      // zod, mustache and diff (+160 kB); everything else from core is imported as types only.
      '@promptops/core/rollback': fileURLToPath(new URL('../core/src/rollback.ts', import.meta.url)),
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  // `npm run dev -w @promptops/web` proxies the API to a running `promptops serve`.
  server: { proxy: { '/api': process.env['PROMPTOPS_URL'] ?? 'http://127.0.0.1:4680' } },
});
