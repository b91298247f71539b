import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR, generateVectors } from '../../../scripts/conformance/generate.js';
import {
  PromptopsError,
  RegexSyntaxError,
  assignArm,
  assignmentBucket,
  assignmentInput,
  canonicalJson,
  compileSafeRegex,
  contentSha,
  decideTargeting,
  effectivePrompt,
  murmur3Utf8,
  parseLockfile,
  parseNameRef,
  parseOverride,
  parseRef,
  promptSha,
  rolloutUnitHash,
  renderPrompt,
  resolveFromSnapshot,
  sha256Hex,
  targetingRules,
  validatePromptContent,
  type EvaluationContext,
  type PromptContent,
  type Snapshot,
  type TargetingRule,
} from '../src/index.js';

/**
 * The shared conformance vectors (conformance/*.json), one test per vector, run against core. The
 * Python SDK and the TypeScript SDK run the same files; the first block keeps them equal to what core does.
 */

const read = <T>(file: string): T => JSON.parse(readFileSync(`${CONFORMANCE_DIR}${file}`, 'utf8')) as T;

interface Failing {
  readonly error: { readonly code: string };
}

/** The PromptopsError code `fn` throws (a vector expecting an error fails when nothing or something else is thrown). */
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromptopsError) return error.code;
    throw error;
  }
  throw new Error('expected a PromptopsError, but nothing was thrown');
};

describe('conformance files', () => {
  it('are what scripts/conformance/generate.ts writes from core today (regenerate and commit on a change)', async () => {
    const generated = await generateVectors();
    for (const [file, text] of Object.entries(generated)) {
      expect(readFileSync(`${CONFORMANCE_DIR}${file}`, 'utf8'), `conformance/${file} is stale`).toBe(text);
    }
  });
});

describe('conformance: canonical.json', () => {
  const file = read<{
    values: { name: string; input: string; canonical: string; sha: string }[];
    invalidValues: ({ name: string; input: string } & Failing)[];
    contents: { name: string; input: string; canonical: string; sha: string }[];
    invalidContents: ({ name: string; input: string } & Failing)[];
  }>('canonical.json');

  it.each(file.values.map((v) => [v.name, v] as const))('value: %s', (_, v) => {
    const value = JSON.parse(v.input) as unknown;
    expect(canonicalJson(value)).toBe(v.canonical);
    expect(sha256Hex(v.canonical)).toBe(v.sha);
    expect(contentSha(value)).toBe(v.sha);
  });

  it.each(file.invalidValues.map((v) => [v.name, v] as const))('refused value: %s', (_, v) => {
    expect(codeOf(() => canonicalJson(JSON.parse(v.input)))).toBe(v.error.code);
  });

  it.each(file.contents.map((v) => [v.name, v] as const))('content: %s', (_, v) => {
    const content = validatePromptContent(JSON.parse(v.input));
    expect(canonicalJson(content)).toBe(v.canonical);
    expect(promptSha(content)).toBe(v.sha);
  });

  it.each(file.invalidContents.map((v) => [v.name, v] as const))('refused content: %s', (_, v) => {
    expect(codeOf(() => validatePromptContent(JSON.parse(v.input)))).toBe(v.error.code);
  });
});

describe('conformance: render.json', () => {
  type Case = { name: string; content: PromptContent; variables: Record<string, unknown> };
  const file = read<{ cases: (Case & { expected: unknown })[]; errors: (Case & Failing)[] }>('render.json');

  it.each(file.cases.map((v) => [v.name, v] as const))('render: %s', (_, v) => {
    expect(renderPrompt(v.content, v.variables)).toEqual(v.expected);
  });

  it.each(file.errors.map((v) => [v.name, v] as const))('render error: %s', (_, v) => {
    expect(codeOf(() => renderPrompt(v.content, v.variables))).toBe(v.error.code);
  });
});

describe('conformance: refs.json', () => {
  type Vector = { name: string; input: string; expected?: unknown; error?: { code: string } };
  const file = read<{ nameRefs: (Vector & { defaultRef?: string })[]; refs: Vector[] }>('refs.json');

  it.each(file.nameRefs.map((v) => [v.name, v] as const))('NAME@REF: %s', (_, v) => {
    if (v.error !== undefined) expect(codeOf(() => parseNameRef(v.input, v.defaultRef))).toBe(v.error.code);
    else expect(parseNameRef(v.input, v.defaultRef)).toEqual(v.expected);
  });

  it.each(file.refs.map((v) => [v.name, v] as const))('ref: %s', (_, v) => {
    if (v.error !== undefined) expect(codeOf(() => parseRef(v.input))).toBe(v.error.code);
    else expect(parseRef(v.input)).toEqual(v.expected);
  });
});

describe('conformance: lockfile.json', () => {
  type Entry = { sha: string; version: number; label: string | null; embedded: boolean };
  const file = read<{
    valid: { name: string; text: string; expected: { releaseSha: string; prompts: Record<string, Entry> } }[];
    invalid: ({ name: string; text: string } & Failing)[];
  }>('lockfile.json');

  it.each(file.valid.map((v) => [v.name, v] as const))('valid: %s', (_, v) => {
    const lock = parseLockfile(v.text);
    expect(lock.releaseSha).toBe(v.expected.releaseSha);
    const entries = Object.fromEntries(
      Object.entries(lock.prompts).map(([name, e]) => [
        name,
        { sha: e.sha, version: e.version, label: e.label, embedded: e.content !== undefined },
      ]),
    );
    expect(entries).toEqual(v.expected.prompts);
  });

  it.each(file.invalid.map((v) => [v.name, v] as const))('refused: %s', (_, v) => {
    expect(codeOf(() => parseLockfile(v.text))).toBe(v.error.code);
  });
});

describe('conformance: assignment.json', () => {
  type Arms = { ramp: number; arm: string }[];
  const file = read<{
    hashes: { name: string; input: string; utf8: string; hash: number }[];
    units: {
      name: string;
      salt: string;
      unitKey: string | null;
      hashed?: string;
      hash?: number;
      bucket: number | null;
      arms: Arms;
    }[];
    invalidRamps: ({ name: string; ramp: number } & Failing)[];
    unitHashes: { name: string; rolloutId: string; unitKey: string; hashed: string; unitHash: string }[];
  }>('assignment.json');

  it.each(file.hashes.map((v) => [v.name, v] as const))('hash: %s', (_, v) => {
    expect(Buffer.from(new TextEncoder().encode(v.input)).toString('hex')).toBe(v.utf8);
    expect(murmur3Utf8(v.input)).toBe(v.hash);
  });

  it.each(file.units.map((v) => [v.name, v] as const))('unit: %s', (_, v) => {
    if (v.unitKey !== null && v.unitKey !== '') {
      expect(assignmentInput(v.salt, v.unitKey)).toBe(v.hashed);
      expect(murmur3Utf8(assignmentInput(v.salt, v.unitKey))).toBe(v.hash);
      expect(assignmentBucket(v.salt, v.unitKey)).toBe(v.bucket);
    }
    for (const { ramp, arm } of v.arms) {
      expect(assignArm(v.salt, v.unitKey, ramp), `ramp ${ramp}`).toEqual({ arm, bucket: v.bucket });
    }
  });

  it.each(file.invalidRamps.map((v) => [v.name, v] as const))('refused ramp: %s', (_, v) => {
    expect(codeOf(() => assignArm('ro_01hx7k', 'user-42', v.ramp))).toBe(v.error.code);
  });

  it.each(file.unitHashes.map((v) => [v.name, v] as const))('unit hash: %s', (_, v) => {
    expect(`${v.rolloutId}:${v.unitKey}`).toBe(v.hashed);
    expect(rolloutUnitHash(v.rolloutId, v.unitKey)).toBe(v.unitHash);
    // node:crypto's digest, as the SDK and the gateway pass it, gives the same hash.
    const digest = (text: string): string => createHash('sha256').update(text).digest('hex');
    expect(rolloutUnitHash(v.rolloutId, v.unitKey, digest)).toBe(v.unitHash);
  });
});

describe('conformance: overrides.json', () => {
  type Case = { name: string; base: PromptContent; override: string };
  const file = read<{
    effective: (Case & { expected: { content: PromptContent; sha: string; baseSha: string; overrideSha: string } })[];
    refused: (Case & Failing)[];
  }>('overrides.json');

  it.each(file.effective.map((v) => [v.name, v] as const))('effective: %s', (_, v) => {
    const result = effectivePrompt(v.base, parseOverride(JSON.parse(v.override)));
    expect(result).toEqual(v.expected);
    expect(promptSha(result.content)).toBe(v.expected.sha);
  });

  it.each(file.refused.map((v) => [v.name, v] as const))('refused: %s', (_, v) => {
    expect(codeOf(() => effectivePrompt(v.base, parseOverride(JSON.parse(v.override))))).toBe(v.error.code);
  });
});

describe('conformance: targeting.json', () => {
  const file = read<{
    patterns: { name: string; pattern: string; cases: { text: string; matches: boolean }[] }[];
    invalidPatterns: { name: string; pattern: string }[];
    invalidRules: ({ name: string; rules: unknown; paths: string[] } & Failing)[];
    rules: TargetingRule[];
    decisions: {
      name: string;
      rollout: { salt: string; ramp: number };
      unitKey: string | null;
      context: EvaluationContext;
      expected: unknown;
    }[];
    resolutions: {
      name: string;
      snapshot: string;
      get: { name: string; label?: string; unitKey: string | null; context: EvaluationContext };
      expected: Record<string, unknown>;
    }[];
    labelResolutions: {
      name: string;
      snapshot: string;
      get: { name: string; unitKey: string | null; context: EvaluationContext };
      expected: Record<string, unknown>;
    }[];
  }>('targeting.json');

  it.each(file.patterns.map((v) => [v.name, v] as const))('pattern: %s', (_, v) => {
    const regex = compileSafeRegex(v.pattern);
    for (const { text, matches } of v.cases) expect(regex.test(text), JSON.stringify(text)).toBe(matches);
  });

  it.each(file.invalidPatterns.map((v) => [v.name, v] as const))('refused pattern: %s', (_, v) => {
    expect(() => compileSafeRegex(v.pattern)).toThrow(RegexSyntaxError);
  });

  it.each(file.invalidRules.map((v) => [v.name, v] as const))('refused rules: %s', (_, v) => {
    expect(codeOf(() => targetingRules(v.rules))).toBe(v.error.code);
  });

  it.each(file.decisions.map((v) => [v.name, v] as const))('decision: %s', (_, v) => {
    expect(decideTargeting({ ...v.rollout, rules: file.rules }, v.unitKey, v.context)).toEqual(v.expected);
  });

  it.each(file.resolutions.map((v) => [v.name, v] as const))('resolution: %s', (_, v) => {
    const { name, ...options } = v.get;
    const r = resolveFromSnapshot(JSON.parse(v.snapshot) as Snapshot, name, options)!;
    expect({
      version: r.version,
      sha: r.sha,
      label: r.label,
      variant: r.variant,
      rolloutId: r.rolloutId,
      shadowSha: r.shadow?.sha ?? null,
      rule: r.rule ?? null,
    }).toEqual(v.expected);
  });

  it.each(file.labelResolutions.map((v) => [v.name, v] as const))('label rules: %s', (_, v) => {
    const { name, ...options } = v.get;
    const r = resolveFromSnapshot(JSON.parse(v.snapshot) as Snapshot, name, options)!;
    expect({
      version: r.version,
      sha: r.sha,
      label: r.label,
      variant: r.variant,
      rolloutId: r.rolloutId,
      shadowSha: r.shadow?.sha ?? null,
      rule: r.rule ?? null,
      labelRule: r.labelRule ?? null,
    }).toEqual(v.expected);
  });
});
