#!/usr/bin/env node
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Crypto from 'node:crypto';
import type * as Vm from 'node:vm';

/**
 * The `promptops` binary. Start-up is most of a short command's time (a cached `eval` rerun, `status` in a
 * hook), so the build bundles the CLI into one script (`promptops.cjs`, see scripts/bundle.mjs) and this
 * launcher runs it with a V8 code cache beside it: Node 20 has no compile cache of its own
 * (`module.enableCompileCache` arrives in 22), and loading ~200 ES modules then compiling them costs more
 * than the command itself. Without a bundle, or with one older than the last `tsc -b` (`npm run build`
 * makes both), it imports `main.js` directly. `promptops --version` alone reads package.json and loads nothing
 * else. `npm run bench:cli` measures all of this against `node -e 0`.
 *
 * The cache file starts with the sha256 of the bundle it was made from: V8 checks only its own version, flags
 * and the source length, and a cache applied to other source of the same length would run the wrong code.
 * It is rewritten (atomically, best effort: a read-only install just compiles every time) when it is
 * missing, made from another bundle or rejected by V8, at exit, so it holds every function the run compiled.
 */

const BUNDLE = new URL('./promptops.cjs', import.meta.url);
const CACHE = new URL('./promptops.cjs.cache', import.meta.url);
const MAIN = new URL('./main.js', import.meta.url);
/** Rewritten by every `tsc -b` that emits: a bundle older than it misses those changes. */
const COMPILED = new URL('./.tsbuildinfo', import.meta.url);
const DIGEST_BYTES = 32;

const bundleIsCurrent = (): boolean => {
  try {
    // An installed package has no build info (npm pack leaves it out): its bundle is the one published.
    const compiled = statSync(COMPILED, { throwIfNoEntry: false });
    return statSync(BUNDLE).mtimeMs >= (compiled?.mtimeMs ?? 0);
  } catch {
    return false;
  }
};

const readCache = (digest: Buffer): Buffer | undefined => {
  try {
    const file = readFileSync(CACHE);
    return file.subarray(0, DIGEST_BYTES).equals(digest) ? file.subarray(DIGEST_BYTES) : undefined;
  } catch {
    return undefined;
  }
};

const writeCache = (digest: Buffer, script: Vm.Script): void => {
  const temporary = `${fileURLToPath(CACHE)}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([digest, script.createCachedData()]));
    renameSync(temporary, CACHE);
  } catch {
    // A read-only install: the next run compiles again, which is only slower.
  }
};

const runBundle = (): void => {
  // Required here, not imported: `--version` alone needs neither (see versionOnly).
  const builtin = createRequire(import.meta.url);
  const { createHash } = builtin('node:crypto') as typeof Crypto;
  const vm = builtin('node:vm') as typeof Vm;
  const file = fileURLToPath(BUNDLE);
  const source = readFileSync(file, 'utf8');
  const digest = createHash('sha256').update(source).digest();
  const cachedData = readCache(digest);
  // The CommonJS wrapper, plus what the bundle cannot do as a vm script (see scripts/bundle.mjs): know its
  // own URL (for import.meta.url) and import() an ES module (the server, for `serve`).
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __promptopsUrl, __promptopsImport) {${source}\n})`,
    { filename: file, ...(cachedData === undefined ? {} : { cachedData }) },
  );
  if (cachedData === undefined || script.cachedDataRejected === true) {
    process.once('exit', () => writeCache(digest, script));
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const importer = (specifier: string): Promise<unknown> => import(specifier);
  run(module.exports, createRequire(file), module, file, fileURLToPath(new URL('.', BUNDLE)), BUNDLE.href, importer);
};

/** `promptops --version` alone: the version is all it needs, not the CLI (half of a short run's time). */
const versionOnly = (args: readonly string[]): string | undefined => {
  if (args.length !== 1 || (args[0] !== '--version' && args[0] !== '-V')) return undefined;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined; // The CLI itself then says what it can.
  }
};

const version = versionOnly(process.argv.slice(2));
if (version !== undefined) process.stdout.write(`${version}\n`);
else if (bundleIsCurrent()) runBundle();
else await import(MAIN.href);
