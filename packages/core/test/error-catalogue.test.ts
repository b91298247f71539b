import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CATALOGUE,
  ERROR_CODE_FAMILIES,
  ERROR_KINDS,
  catalogueEntry,
  type ErrorCodeEntry,
} from '../src/errors.js';
import { scanPackages } from './support/error-code-scan.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const catalogue = new Map<string, ErrorCodeEntry>(Object.entries(ERROR_CATALOGUE));
const families = Object.keys(ERROR_CODE_FAMILIES);

/** The codes docs/errors.md lists: the first cell of each table row, in backticks. */
const documented = (): string[] =>
  [...readFileSync(`${root}docs/errors.md`, 'utf8').matchAll(/^\| `([^`]+)` +\|/gm)].map((match) => match[1]!);

const uses = scanPackages(root, ['core', 'server', 'sdk', 'cli', 'evals', 'web'], new Set(ERROR_KINDS));

const at = (use: { file: string; line: number }): string => `${use.file}:${use.line}`;

describe('the error catalogue', () => {
  it('docs/errors.md lists every catalogued code and family (regenerate: npx tsx scripts/errors-doc.ts)', () => {
    const listed = new Set(documented());
    const missing = [...catalogue.keys(), ...families].filter((code) => !listed.has(code));
    expect(missing, 'codes missing from docs/errors.md').toEqual([]);
  });

  it('docs/errors.md names no code the catalogue lacks', () => {
    const known = new Set([...catalogue.keys(), ...families]);
    const unknown = documented().filter((code) => !known.has(code));
    expect(unknown, 'codes in docs/errors.md that are not in the catalogue').toEqual([]);
    const listed = documented();
    expect(
      listed.filter((code, i) => listed.indexOf(code) !== i),
      'codes listed twice',
    ).toEqual([]);
  });

  it('holds every code the sources report, with the kind they give it', () => {
    expect(uses.length).toBeGreaterThan(200); // the scan finds the codes at all
    const unknown = uses.filter((use) => catalogueEntry(use.code) === undefined).map((u) => `${u.code} (${at(u)})`);
    expect(unknown, 'codes used in packages/*/src but missing from the catalogue').toEqual([]);
    const wrongKind = uses
      .filter((use) => {
        const entry = catalogueEntry(use.code);
        return (
          use.kind !== undefined &&
          entry !== undefined &&
          entry.kind !== use.kind &&
          !entry.also.includes(use.kind as never)
        );
      })
      .map((u) => `${u.code}: ${u.kind} at ${at(u)}, ${catalogueEntry(u.code)?.kind} in the catalogue`);
    expect(wrongKind, 'codes given another kind than the catalogue').toEqual([]);
  });

  it('holds no code the sources no longer report', () => {
    const used = new Set(uses.map((use) => use.code));
    expect([...catalogue.keys()].filter((code) => !used.has(code))).toEqual([]);
  });

  it('has one-line meanings and fixes, and snake_case codes', () => {
    for (const [code, entry] of [...catalogue, ...Object.entries(ERROR_CODE_FAMILIES)]) {
      expect(code).toMatch(/^[a-z][a-z0-9_]*$|^[a-z]+[._]<[a-z]+>$/);
      expect(entry.meaning, code).toMatch(/^[^\n]{10,}$/);
      expect(entry.fix, code).toMatch(/^[^\n]{5,}$/);
    }
  });
});
