// Fails when a package imports a package it may not (docs/architecture.md, "Packages"):
// core imports none of the others; sdk and evals only core; server core, sdk and evals; cli all of them.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ALLOWED = {
  core: [],
  sdk: ['core'],
  openfeature: ['core', 'sdk'],
  evals: ['core'],
  server: ['core', 'sdk', 'evals'],
  cli: ['core', 'sdk', 'evals', 'server'],
  web: ['core'],
};

const files = (dir) =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|tsx)$/.test(entry) ? [path] : [];
  });

const problems = [];
for (const [pkg, allowed] of Object.entries(ALLOWED)) {
  let sources;
  try {
    sources = files(join('packages', pkg, 'src'));
  } catch {
    continue; // the package does not exist yet
  }
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](@promptops\/[a-z]+|\.\.\/\.\.\/\.\.\/[a-z]+)/g)) {
      const target = match[1].replace('@promptops/', '').replace('../../../', '');
      if (target !== pkg && !allowed.includes(target)) problems.push(`${file}: ${pkg} may not import ${target}`);
    }
  }
}
// Inside the server: the composition root (`app/`) sits on top and nothing below imports it; features
// sit in the middle; `request/` (helpers every feature's routes use) and `storage/` sit below and never
// import a feature. Root files (`context.ts`, `bounded-cache.ts`) are shared by all.
const SERVER = join('packages', 'server', 'src');
const ALLOWED_IN_SERVER_BELOW = new Set(['request', 'storage']);
// Storage → feature imports still to remove (each entry names the file and the feature it reaches).
const KNOWN_STORAGE_EXCEPTIONS = new Set([]);
const areaOf = (relativePath) => (relativePath.includes('/') ? relativePath.split('/')[0] : '');
for (const file of files(SERVER)) {
  const rel = file
    .slice(SERVER.length + 1)
    .split('\\')
    .join('/');
  const from = areaOf(rel);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = join(dirname(file), match[1])
      .slice(SERVER.length + 1)
      .split('\\')
      .join('/');
    if (target.startsWith('..')) continue;
    const to = areaOf(target);
    if (to === from || to === '') continue;
    if (to === 'app' && rel !== 'index.ts')
      problems.push(`${file}: only the composition root may import app/ (${match[1]})`);
    if (ALLOWED_IN_SERVER_BELOW.has(from) && !ALLOWED_IN_SERVER_BELOW.has(to)) {
      if (from === 'storage' && KNOWN_STORAGE_EXCEPTIONS.has(`${rel} -> ${to}`)) continue;
      problems.push(`${file}: ${from}/ may not import ${to}/ (${match[1]})`);
    }
    if (from === 'storage' && to === 'request') problems.push(`${file}: storage/ may not import request/`);
  }
}

// SQLite/PostgreSQL differences live in the dialect objects (storage/dialect.ts); only open.ts reads a
// database's name, from the URL. Elsewhere no comparison with a dialect's name, no table indexed by it.
const DIALECT_FILES = new Set(['storage/dialect.ts', 'storage/open.ts']);
const DIALECT_BRANCH =
  /[!=]==?\s*['"](?:sqlite|postgres|postgresql)['"]|['"](?:sqlite|postgres|postgresql)['"]\s*[!=]==?|case\s+['"](?:sqlite|postgres|postgresql)['"]|[dD]ialect\w*\.name\s*[!=]==?|\[\s*(?:\w+\.)*dialect(?:\.name)?\s*\]/;
for (const file of files(SERVER)) {
  const rel = file
    .slice(SERVER.length + 1)
    .split('\\')
    .join('/');
  if (DIALECT_FILES.has(rel)) continue;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (DIALECT_BRANCH.test(line))
        problems.push(`${file}:${index + 1}: branches on the dialect's name; use a member of the dialect object`);
    });
}

if (problems.length > 0) {
  console.error(`layering violations:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('layers: ok');
