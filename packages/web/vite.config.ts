import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/ as static files; `promptops serve` serves them on its own port (same origin as the API).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  // `npm run dev -w @promptops/web` proxies the API to a running `promptops serve`.
  server: { proxy: { '/api': process.env['PROMPTOPS_URL'] ?? 'http://127.0.0.1:4680' } },
});
