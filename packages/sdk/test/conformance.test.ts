import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PromptopsError, type Snapshot } from '@promptops/core';
import { buildFallback, readLockfile } from '../src/fallback.js';
import { Resolver } from '../src/resolver.js';
import {
  advanceCursor,
  applyLabelEvent,
  decodeEventText,
  ingestVersion,
  knownVersion,
  validateSnapshot,
} from '../src/snapshot-store.js';

/**
 * The shared conformance vectors (conformance/*.json) that concern the SDK, one test per vector: lockfiles
 * through the fallback loader, snapshots and change events through the snapshot store and the resolver.
 */

const CONFORMANCE = new URL('../../../conformance/', import.meta.url);
const read = <T>(file: string): T => JSON.parse(readFileSync(new URL(file, CONFORMANCE), 'utf8')) as T;

type Get = { readonly name: string; readonly label?: string };
type ResolutionVector =
  | { readonly get: Get; readonly expected: Record<string, unknown>; readonly error?: undefined }
  | { readonly get: Get; readonly error: { readonly code: string } };

/** What `get` answered, in the vectors' shape: the resolution's identity, or the error code. */
const answer = (resolver: Resolver, get: Get): unknown => {
  try {
    const found = resolver.get(get.name, get.label === undefined ? undefined : { label: get.label });
    return {
      expected: { name: found.name, version: found.version, sha: found.sha, label: found.label, source: found.source },
    };
  } catch (error) {
    if (error instanceof PromptopsError) return { error: { code: error.code } };
    throw error;
  }
};

const expectResolutions = (resolver: Resolver, vectors: readonly ResolutionVector[]): void => {
  for (const vector of vectors) {
    const wanted = vector.error === undefined ? { expected: vector.expected } : { error: vector.error };
    expect(answer(resolver, vector.get), `get ${JSON.stringify(vector.get)}`).toEqual(wanted);
  }
};

const rejectionCode = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PromptopsError) return error.code;
    throw error;
  }
  throw new Error('expected a PromptopsError, but it resolved');
};

describe('conformance: lockfile.json through the SDK fallback', () => {
  const file = read<{
    valid: { name: string; text: string; resolutions: ResolutionVector[] }[];
    invalid: { name: string; text: string; error: { code: string } }[];
  }>('lockfile.json');
  const dir = mkdtempSync(join(tmpdir(), 'promptops-conformance-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lockfileAt = (index: number, text: string): string => {
    const path = join(dir, `${index}.promptops.lock`);
    writeFileSync(path, text);
    return path;
  };

  it.each(file.valid.map((v, index) => [v.name, v, index] as const))('serves: %s', async (_, v, index) => {
    const path = lockfileAt(index, v.text);
    const resolver = new Resolver();
    resolver.setFallback(buildFallback(await readLockfile(path), new Map(), path));
    expectResolutions(resolver, v.resolutions);
  });

  it.each(file.invalid.map((v, index) => [v.name, v, index] as const))('refuses: %s', async (_, v, index) => {
    expect(await rejectionCode(readLockfile(lockfileAt(1000 + index, v.text)))).toBe(v.error.code);
  });
});

/**
 * One stream event into the snapshot, as the client applies an `event: label` message: replays (at or
 * below the cursor) are skipped, other event types move the cursor, a label event's content is verified.
 */
const applyEvent = (snapshot: Snapshot, text: string): { snapshot: Snapshot; name: string | undefined } => {
  const { event, version } = decodeEventText(text, 'conformance event');
  if (event.seq <= snapshot.cursor) return { snapshot, name: undefined };
  if (event.type !== 'label') return { snapshot: advanceCursor(snapshot, event.seq), name: undefined };
  const known = event.sha === null ? undefined : knownVersion(snapshot, event.name, event.sha);
  const verified =
    event.sha === null
      ? undefined
      : (version ??
        ingestVersion(event.name, event.sha, event.version ?? known?.version, event.content, 'event', known));
  return { snapshot: applyLabelEvent(snapshot, event, verified).snapshot, name: event.name };
};

describe('conformance: snapshot.json through the snapshot store and resolver', () => {
  type Step = { note: string; event: string; cursor: number; expect: ResolutionVector[]; error?: { code: string } };
  const file = read<{
    sequences: { name: string; snapshot: string; cursor: number; expect: ResolutionVector[]; steps: Step[] }[];
    invalidSnapshots: { name: string; snapshot: string; error: { code: string } }[];
  }>('snapshot.json');

  for (const sequence of file.sequences) {
    describe(sequence.name, () => {
      const resolver = new Resolver();

      it('loads the snapshot', () => {
        resolver.setSnapshot(validateSnapshot(JSON.parse(sequence.snapshot), 'conformance snapshot'));
        expect(resolver.current.cursor).toBe(sequence.cursor);
        expectResolutions(resolver, sequence.expect);
      });

      // The steps build on each other, in order (vitest runs the tests of a file in sequence).
      it.each(sequence.steps.map((step, index) => [`${index + 1}. ${step.note}`, step] as const))('%s', (_, step) => {
        const before = resolver.current;
        let refused: string | undefined;
        try {
          const { snapshot, name } = applyEvent(before, step.event);
          resolver.updateSnapshot(snapshot, name);
        } catch (error) {
          if (!(error instanceof PromptopsError)) throw error;
          refused = error.code;
        }
        expect(refused).toBe(step.error?.code);
        if (refused !== undefined) expect(resolver.current).toBe(before);
        expect(resolver.current.cursor).toBe(step.cursor);
        expectResolutions(resolver, step.expect);
      });
    });
  }

  it.each(file.invalidSnapshots.map((v) => [v.name, v] as const))('refuses the snapshot: %s', (_, v) => {
    let code: string | undefined;
    try {
      validateSnapshot(JSON.parse(v.snapshot), 'conformance snapshot');
    } catch (error) {
      if (!(error instanceof PromptopsError)) throw error;
      code = error.code;
    }
    expect(code).toBe(v.error.code);
  });
});
