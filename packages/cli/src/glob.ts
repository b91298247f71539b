import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A small glob for paths named in imported configs (`prompts/*.txt`, `tests/**\/*.csv`, `{a,b}.yaml`):
 * `**` crosses folders, `*` and `?` do not, braces list alternatives. Node 20 has no stable fs glob.
 * Returns the matching files relative to `base`, with forward slashes, sorted.
 */

const toRegExp = (pattern: string): RegExp => {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] ?? '';
    if (pattern.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 2;
    } else if (pattern.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '{') source += '(?:';
    else if (char === '}') source += ')';
    else if (char === ',' && source.includes('(?:')) source += '|';
    else source += char.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
};

const MAX_FILES = 10_000;

export const globFiles = (base: string, pattern: string): string[] => {
  const clean = pattern.replace(/^\.\//, '');
  const parts = clean.split('/');
  const firstWild = parts.findIndex((part) => /[*?{[]/.test(part));
  const root = firstWild <= 0 ? '' : parts.slice(0, firstWild).join('/');
  const deep = clean.includes('**');
  const depth = deep ? Infinity : parts.length - Math.max(firstWild, 0);
  const matcher = toRegExp(clean);
  const found: string[] = [];
  const walk = (relative: string, level: number): void => {
    let entries;
    try {
      entries = readdirSync(resolve(base, relative), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (found.length >= MAX_FILES) return;
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (level + 1 < depth && entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(path, level + 1);
      } else if (matcher.test(path)) found.push(path);
    }
  };
  walk(root, 0);
  return found.sort();
};
