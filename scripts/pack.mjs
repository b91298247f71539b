/**
 * `npm run pack`: the publishable packages as tarballs in dist/packages/ (gitignored), from the current build
 * (`npm run pack` builds first). Each tarball names its sibling packages by version, so installing all of
 * them together (`npm install ./dist/packages/*.tgz`) resolves them from each other, without a registry.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGES = [
  '@promptops/core',
  '@promptops/sdk',
  '@promptops/openfeature',
  '@promptops/evals',
  '@promptops/server',
  '@promptops/cli',
];

const root = fileURLToPath(new URL('..', import.meta.url));
const destination = join(root, 'dist', 'packages');
rmSync(destination, { recursive: true, force: true });
mkdirSync(destination, { recursive: true });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const packed = spawnSync(
  npm,
  ['pack', ...PACKAGES.flatMap((name) => ['-w', name]), '--pack-destination', destination, '--silent'],
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
);
if (packed.status !== 0) process.exit(packed.status ?? 1);
for (const file of readdirSync(destination).sort()) console.log(join('dist', 'packages', file));
