/**
 * Bundles the built CLI (dist/main.js and everything it imports but the server) into dist/promptops.cjs,
 * which dist/bin.js runs with a V8 code cache (see src/bin.ts for why), then makes that cache with one
 * representative run: `eval` of the examples with the simulated provider, so the functions a short command
 * needs are compiled in it too. Run by `npm run build` after `tsc -b`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = fileURLToPath(new URL('..', import.meta.url));
const dist = join(cli, 'dist');
const examples = join(cli, '..', '..', 'examples');

const SERVER = 'import("@promptops/server")';

const { outputFiles } = await build({
  entryPoints: [join(dist, 'main.js')],
  outfile: join(dist, 'promptops.cjs'),
  write: false,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  // The server (and its native database drivers) loads only for `serve`, from node_modules as usual.
  external: ['@promptops/server'],
  // CommonJS has no import.meta: bin.js passes the bundle's own URL under this name.
  define: { 'import.meta.url': '__promptopsUrl' },
  logLevel: 'warning',
});
// A script run by vm (with a code cache) cannot import(): bin.js lends its own import for the server.
const text = outputFiles[0].text;
const bundled = text.replaceAll(SERVER, '__promptopsImport("@promptops/server")');
if (!text.includes(SERVER) || /\bimport\(/.test(bundled)) {
  console.error('bundle: expected exactly the server as a dynamic import; make other imports static');
  process.exit(1);
}
writeFileSync(join(dist, 'promptops.cjs'), bundled);
rmSync(join(dist, 'promptops.cjs.cache'), { force: true });

const scratch = mkdtempSync(join(tmpdir(), 'promptops-bundle-'));
try {
  const warm = spawnSync(
    process.execPath,
    [join(dist, 'bin.js'), 'eval', '--provider', 'simulated', '--cache-dir', scratch, '--json'],
    { cwd: examples, encoding: 'utf8' },
  );
  // A failing suite exits 1 and still warms the cache; anything else means the bundle is broken.
  if (warm.status !== 0 && warm.status !== 1) {
    console.error(`the bundled CLI failed its warm-up run (exit ${warm.status}):\n${warm.stderr}`);
    process.exit(1);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
