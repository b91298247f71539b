// Fails when a package imports a package it may not (DESIGN.md, "Rules of the house"):
// core imports none of the others; sdk and evals only core; server core, sdk and evals; cli all of them.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ALLOWED = {
  core: [],
  sdk: ['core'],
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
if (problems.length > 0) {
  console.error(`layering violations:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('layers: ok');
