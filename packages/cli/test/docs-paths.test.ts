import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Keeps the maintainer's docs true: every repository path that docs/architecture.md, CONTRIBUTING.md and
 * docs/decisions/*.md name exists, the architecture stays a short map, and nothing in the repository
 * points at documents outside it (a folder beside the clone, an issue tracker's numbers).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = [
  'docs/architecture.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs/decisions'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/decisions/${name}`),
];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'artifacts', '.promptops', '__pycache__']);

/** Every file and folder of the working tree, relative to the root, folders with a trailing slash. */
const treeEntries = (dir = ROOT, out: string[] = []): string[] => {
  for (const name of readdirSync(dir)) {
    if (SKIPPED_DIRS.has(name)) continue;
    const path = join(dir, name);
    const rel = relative(ROOT, path).split('\\').join('/');
    if (statSync(path).isDirectory()) {
      out.push(`${rel}/`);
      treeEntries(path, out);
    } else out.push(rel);
  }
  return out;
};
const TREE = treeEntries();

/** Backticked spans and link targets that read as a file or folder of the repository. */
const namedPaths = (markdown: string): string[] => {
  const spans = [...markdown.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
  const links = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!.split('#')[0]!);
  return [...spans, ...links].filter((token) => {
    if (token === '' || /[\s*<>…:{}()?=@#$,'"|\\]/.test(token) || /^(\/|(\.\/)?\.promptops|~)/.test(token))
      return false;
    if (token.split('/').includes('dist')) return false; // build output
    if (token.includes('/')) return /\.[a-z]+$/.test(token) || token.endsWith('/');
    return /\.(ts|tsx|mjs|md|sh|py)$/.test(token);
  });
};

/** A path exists relative to the root or the document, or as the tail of a path in the tree (`labels/move.ts`). */
const exists = (token: string, doc: string): boolean =>
  existsSync(join(ROOT, token)) ||
  existsSync(join(ROOT, dirname(doc), token)) ||
  TREE.some((entry) => entry.endsWith(`/${token}`));

describe('the docs name only paths that exist', () => {
  it('finds the paths a doc names, and skips commands, routes, placeholders and build output', () => {
    const sample =
      'See `packages/server/src/app/app.ts`, `labels/move.ts`, [x](decisions/README.md#a), `npm run check`, ' +
      '`GET /api/v1/me`, `<data dir>/credentials.json`, `packages/cli/dist/bin.js`, `prompts/**/*.prompt.yaml`.';
    expect(namedPaths(sample)).toEqual(['packages/server/src/app/app.ts', 'labels/move.ts', 'decisions/README.md']);
    expect(exists('labels/move.ts', 'docs/architecture.md')).toBe(true);
    expect(exists('labels/gone.ts', 'docs/architecture.md')).toBe(false);
  });

  for (const doc of DOCS) {
    it(doc, () => {
      const missing = namedPaths(readFileSync(join(ROOT, doc), 'utf8')).filter((token) => !exists(token, doc));
      expect(missing).toEqual([]);
    });
  }
});

describe("a newcomer's path", () => {
  it('CONTRIBUTING.md says how to add a route with its storage, permission, error code and tests', () => {
    const text = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8');
    const start = text.indexOf('## How to add a feature');
    expect(start).toBeGreaterThan(-1);
    const steps = text.slice(start);
    // Every step names the file it touches; the test above checks that each named file exists.
    for (const file of [
      'packages/server/src/storage/migrations/index.ts',
      'packages/server/src/reviews/store.ts',
      'packages/server/src/reviews/kysely-store.ts',
      'packages/server/src/app/stores.ts',
      'packages/server/test/stores/reviews.contract.test.ts',
      'packages/server/src/auth/permissions.ts',
      'packages/server/test/permissions.test.ts',
      'packages/server/src/app/app.ts',
      'packages/core/src/error-catalogue.ts',
      'docs/errors.md',
      'packages/core/test/error-catalogue.test.ts',
    ]) {
      expect(steps).toContain(`\`${file}\``);
    }
    expect(steps).toMatch(/both databases/);
  });
});

describe('docs/decisions/README.md', () => {
  it('lists every decision record', () => {
    const index = readFileSync(join(ROOT, 'docs/decisions/README.md'), 'utf8');
    const unlisted = DOCS.filter((doc) => doc.startsWith('docs/decisions/') && !doc.endsWith('/README.md'))
      .map((doc) => doc.slice('docs/decisions/'.length))
      .filter((name) => !index.includes(`(${name})`));
    expect(unlisted).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  it('stays a map a newcomer reads in one sitting (at most 160 lines)', () => {
    const lines = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(160);
  });
});

/** What points outside the repository: a sibling folder's design document, or an issue tracker's number. */
const OUTSIDE = [
  new RegExp(['\\.\\.', 'shared', ''].join('/')),
  new RegExp(['DESIGN', 'md'].join('\\.')),
  new RegExp(['\\bissues?', '#?\\d+\\b'].join('\\s+'), 'i'),
];

describe('nothing in the repository refers to documents outside it', () => {
  it('recognizes an outside reference', () => {
    const outside = (line: string): boolean => OUTSIDE.some((pattern) => pattern.test(line));
    expect(outside(`see ${['..', 'shared', 'x.md'].join('/')}`)).toBe(true);
    expect(outside(`/** ${'Issue'} 18, item 5: … */`)).toBe(true);
    expect(outside('prompts: [../shared]')).toBe(false);
    expect(outside('field issues (`messages[1].content`)')).toBe(false);
  });

  it('finds none in docs, READMEs, code or comments', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((file) => file !== '' && file !== 'package-lock.json' && existsSync(join(ROOT, file)));
    const found: string[] = [];
    for (const file of files) {
      const bytes = readFileSync(join(ROOT, file));
      if (bytes.includes(0)) continue; // binary
      bytes
        .toString('utf8')
        .split('\n')
        .forEach((line, index) => {
          if (OUTSIDE.some((pattern) => pattern.test(line))) found.push(`${file}:${index + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
