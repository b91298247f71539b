import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Importing `@promptops/sdk` loads only what resolving and rendering need: core's subpath entries, not
 * its root (which re-exports the eval engine and the YAML prompt files). Runs the build in a fresh Node
 * process with a loader hook that records every module it resolves, plus CommonJS's require cache.
 */

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SDK_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const RECORD = fileURLToPath(new URL('./support/record-imports.mjs', import.meta.url));

/** Modules the SDK must not load: the eval engine's libraries, YAML, and core's evals and YAML files. */
const HEAVY = [
  /\/node_modules\/(ajv|ajv-formats|csv-parse|yaml|diff)\//,
  /\/core\/(dist|src)\/evals\//,
  /\/core\/(dist|src)\/(prompt-file|yaml-output|eval-records|blame|diff)\.js$/,
];

const scratch = mkdtempSync(join(tmpdir(), 'promptops-import-weight-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every module URL (ESM) and file (CommonJS) that importing `specifier` loads, from the repo root. */
const modulesLoadedBy = (specifier: string): string[] => {
  const log = join(scratch, `${specifier.replace(/\W/g, '_')}.log`);
  const code = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(specifier)});
    console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
  `;
  const result = spawnSync(process.execPath, ['--import', RECORD, '--input-type=module', '-e', code], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, PROMPTOPS_IMPORT_LOG: log },
    timeout: 20_000,
  });
  expect(result.status, result.stderr).toBe(0);
  const esm = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const cjs = (JSON.parse(result.stdout) as string[]).map((file) => `file://${file}`);
  return [...new Set([...esm, ...cjs])].map((url) => url.replaceAll('\\', '/'));
};

describe('the weight of importing the SDK', () => {
  it('loads no eval engine and no YAML', () => {
    if (!existsSync(SDK_DIST)) throw new Error(`${SDK_DIST} is missing: build first (npx tsc -b packages/sdk)`);
    const loaded = modulesLoadedBy('@promptops/sdk');
    // The record is real: the SDK and the core modules it resolves with are in it.
    expect(loaded.some((url) => url.endsWith('/packages/sdk/dist/index.js'))).toBe(true);
    expect(loaded.some((url) => /\/packages\/core\/dist\/snapshot\.js$/.test(url))).toBe(true);
    expect(loaded.filter((url) => HEAVY.some((pattern) => pattern.test(url)))).toEqual([]);
  });

  it('the hook does see those modules when core is imported whole', () => {
    const loaded = modulesLoadedBy('@promptops/core');
    expect(loaded.some((url) => /\/node_modules\/yaml\//.test(url))).toBe(true);
    expect(loaded.some((url) => /\/core\/dist\/evals\//.test(url))).toBe(true);
  });
});
