/**
 * Writes conformance/*.json from the TypeScript core: every expected value below is what core returns,
 * never typed by hand. `npx tsx scripts/conformance/generate.ts` rewrites the files; core's conformance
 * test calls `generateVectors()` and fails when the committed files differ from it.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { ASSIGNMENT_FILE } from './vectors/assignment.js';
import { CANONICAL_FILE } from './vectors/canonical.js';
import { LOCKFILE_FILE } from './vectors/lockfile.js';
import { OVERRIDES_FILE } from './vectors/overrides.js';
import { REFS_FILE } from './vectors/refs.js';
import { RENDER_FILE } from './vectors/render.js';
import { SNAPSHOT_FILE } from './vectors/snapshot.js';
import { TARGETING_FILE } from './vectors/targeting.js';

export const CONFORMANCE_DIR = fileURLToPath(new URL('../../conformance/', import.meta.url));

const FILES: Readonly<Record<string, () => unknown>> = {
  'canonical.json': CANONICAL_FILE,
  'render.json': RENDER_FILE,
  'refs.json': REFS_FILE,
  'lockfile.json': LOCKFILE_FILE,
  'snapshot.json': SNAPSHOT_FILE,
  'assignment.json': ASSIGNMENT_FILE,
  'overrides.json': OVERRIDES_FILE,
  'targeting.json': TARGETING_FILE,
};

/** File name -> its text, formatted as the repository's prettier formats JSON (so `format:check` passes). */
export const generateVectors = async (): Promise<Record<string, string>> => {
  const options = (await resolveConfig(`${CONFORMANCE_DIR}canonical.json`)) ?? {};
  const out: Record<string, string> = {};
  for (const [file, build] of Object.entries(FILES)) {
    out[file] = await format(JSON.stringify(build(), null, 2), { ...options, parser: 'json' });
  }
  return out;
};

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, text] of Object.entries(await generateVectors())) {
    writeFileSync(`${CONFORMANCE_DIR}${file}`, text);
    console.log(`wrote conformance/${file}`);
  }
}
