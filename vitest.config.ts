import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index'): string =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

// Core's subpath exports (`@promptops/core/resolve`, …), each to its source file: listed before the
// root, since an alias also matches the specifiers that start with it.
const coreExports = (
  JSON.parse(readFileSync(new URL('./packages/core/package.json', import.meta.url), 'utf8')) as {
    exports: Record<string, unknown>;
  }
).exports;
const coreSubpaths = Object.fromEntries(
  Object.keys(coreExports)
    .filter((key) => key !== '.')
    .map((key) => [`@promptops/core/${key.slice(2)}`, src('core', key.slice(2))]),
);

export default defineConfig({
  resolve: {
    // Tests run against the sources; tests that spawn the CLI use the build (`npm test` builds first).
    alias: {
      ...coreSubpaths,
      '@promptops/core': src('core'),
      '@promptops/sdk': src('sdk'),
      '@promptops/openfeature': src('openfeature'),
      '@promptops/evals': src('evals'),
      '@promptops/server': src('server'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    globalSetup: ['packages/server/test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: files in parallel, at most two at a time.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
