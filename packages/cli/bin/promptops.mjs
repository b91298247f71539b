#!/usr/bin/env node
/**
 * `promptops` as npm links it (node_modules/.bin/promptops, so `npx promptops` in the clone). npm links a
 * bin only if its file exists when it installs, and dist/ is built after `npm ci`: the link points to this
 * file, which is in git, and it runs the built CLI.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/bin.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  process.stderr.write(
    `error: the promptops CLI is not built yet\nfix: run \`npm run build\` (or \`npm start\`) in ${root}\n`,
  );
  process.exitCode = 1;
}
