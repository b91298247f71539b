import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PromptopsError,
  contentSha,
  overrideSha,
  parseLockfile,
  parseOverride,
  promptSha,
  type Snapshot,
} from '@promptops/core';
import { createClient, type PromptopsClient } from '../src/client.js';
import { buildFallback, readLockfile } from '../src/fallback.js';
import type { FetchLike } from '../src/http.js';
import { greeter, versionOf } from './support/fixtures.js';
import { Resolver } from '../src/resolver.js';
import {
  advanceCursor,
  applyLabelEvent,
  applyRolloutChange,
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

type Get = { readonly name: string; readonly label?: string; readonly unitKey?: string | null };
type ResolutionVector =
  | { readonly get: Get; readonly expected: Record<string, unknown>; readonly error?: undefined }
  | { readonly get: Get; readonly error: { readonly code: string } };

/**
 * What `get` answered, in the vectors' shape: the resolution's identity, or the error code; `withArm`
 * (the rollout vectors) also its arm, rollout and shadow candidate.
 */
const answer = (resolver: Pick<Resolver, 'get'>, get: Get, withArm: boolean): unknown => {
  try {
    const options =
      get.label === undefined && !('unitKey' in get)
        ? undefined
        : { ...(get.label === undefined ? {} : { label: get.label }), unitKey: get.unitKey ?? null };
    const found = resolver.get(get.name, options);
    const identity = {
      name: found.name,
      version: found.version,
      sha: found.sha,
      label: found.label,
      source: found.source,
    };
    if (!withArm) return { expected: identity };
    const { shadow } = found;
    return {
      expected: {
        ...identity,
        variant: found.variant,
        rolloutId: found.rolloutId,
        shadow: shadow === null ? null : { rolloutId: shadow.rolloutId, version: shadow.version, sha: shadow.sha },
      },
    };
  } catch (error) {
    if (error instanceof PromptopsError) return { error: { code: error.code } };
    throw error;
  }
};

const expectResolutions = (resolver: Pick<Resolver, 'get'>, vectors: readonly ResolutionVector[]): void => {
  for (const vector of vectors) {
    const wanted = vector.error === undefined ? { expected: vector.expected } : { error: vector.error };
    const withArm = vector.error === undefined && 'variant' in vector.expected;
    expect(answer(resolver, vector.get, withArm), `get ${JSON.stringify(vector.get)}`).toEqual(wanted);
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
  const { event, version, rollout } = decodeEventText(text, 'conformance event');
  if (event.seq <= snapshot.cursor) return { snapshot, name: undefined };
  if (event.type === 'rollout') {
    return { snapshot: applyRolloutChange(snapshot, event, rollout).snapshot, name: event.name };
  }
  if (event.type !== 'label') return { snapshot: advanceCursor(snapshot, event.seq), name: undefined };
  const known = event.sha === null ? undefined : knownVersion(snapshot, event.name, event.sha);
  const verified =
    event.sha === null
      ? undefined
      : (version ??
        ingestVersion(event.name, event.sha, event.version ?? known?.version, event.content, 'event', known));
  return { snapshot: applyLabelEvent(snapshot, event, verified).snapshot, name: event.name };
};

interface SequenceStep {
  readonly note: string;
  readonly event: string;
  readonly cursor: number;
  readonly expect: ResolutionVector[];
  readonly error?: { readonly code: string };
}

interface Sequence {
  readonly name: string;
  readonly snapshot: string;
  /** The client's fallback lockfile (its text), when the sequence has one. */
  readonly lockfile?: string;
  readonly cursor: number;
  readonly expect: ResolutionVector[];
  readonly steps: SequenceStep[];
}

describe('conformance: snapshot.json through the snapshot store and resolver', () => {
  const file = read<{
    sequences: Sequence[];
    invalidSnapshots: { name: string; snapshot: string; error: { code: string } }[];
    rolloutSequences: Sequence[];
    invalidRolloutSnapshots: { name: string; snapshot: string; error: { code: string } }[];
  }>('snapshot.json');

  for (const sequence of [...file.sequences, ...file.rolloutSequences]) {
    describe(sequence.name, () => {
      const resolver = new Resolver();

      it('loads the snapshot', () => {
        if (sequence.lockfile !== undefined) {
          resolver.setFallback(buildFallback(parseLockfile(sequence.lockfile), new Map(), 'conformance lockfile'));
        }
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

  const invalid = [...file.invalidSnapshots, ...file.invalidRolloutSnapshots];
  it.each(invalid.map((v) => [v.name, v] as const))('refuses the snapshot: %s', (_, v) => {
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

/** A stream request of the client: its cursor (`after`), answered with the frames the test gives. */
interface StreamRequest {
  readonly after: number;
  respond(frames: string): void;
}

/**
 * A fake server for one client: serves the snapshot, and hands every stream request to the test. Each
 * stream carries one event and ends, so the client's next stream request is the proof that it finished
 * with the event (applied or refused): the test then reads the client's state, with no timing involved.
 */
const fakeServer = (snapshotText: string) => {
  const waiting: ((request: StreamRequest) => void)[] = [];
  const pending: StreamRequest[] = [];
  const fetch: FetchLike = (input) => {
    const url = new URL(input);
    if (url.pathname === '/api/v1/snapshot') {
      return Promise.resolve(new Response(snapshotText, { headers: { 'content-type': 'application/json' } }));
    }
    if (url.pathname !== '/api/v1/stream') return Promise.resolve(new Response('{}', { status: 404 }));
    return new Promise<Response>((resolve) => {
      const request: StreamRequest = {
        after: Number(url.searchParams.get('after')),
        respond: (frames) => resolve(new Response(frames, { headers: { 'content-type': 'text/event-stream' } })),
      };
      const taker = waiting.shift();
      if (taker === undefined) pending.push(request);
      else taker(request);
    });
  };
  const nextStream = (): Promise<StreamRequest> =>
    new Promise((resolve) => {
      const request = pending.shift();
      if (request === undefined) waiting.push(resolve);
      else resolve(request);
    });
  return { fetch, nextStream };
};

describe('conformance: snapshot.json through a client following a stream', () => {
  const file = read<{
    sequences: Sequence[];
    rolloutSequences: Sequence[];
  }>('snapshot.json');

  const dir = mkdtempSync(join(tmpdir(), 'promptops-conformance-client-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [index, sequence] of [...file.sequences, ...file.rolloutSequences].entries()) {
    describe(sequence.name, () => {
      const server = fakeServer(sequence.snapshot);
      const lockfile = join(dir, `${index}.promptops.lock`);
      const errors: string[] = [];
      let client: PromptopsClient;
      let stream: StreamRequest;
      afterAll(async () => {
        stream?.respond('');
        await client?.close();
      });

      it('loads the snapshot and opens the stream after its cursor', async () => {
        if (sequence.lockfile !== undefined) writeFileSync(lockfile, sequence.lockfile);
        client = createClient({
          url: 'http://promptops.test',
          apiKey: 'conformance',
          fetch: server.fetch,
          snapshotCheckIntervalMs: 0,
          reconnect: { initialDelayMs: 1, maxDelayMs: 2, probeIntervalMs: 0 },
          traces: false,
          ...(sequence.lockfile === undefined ? {} : { fallback: { lockfile } }),
          onError: (error) => errors.push(error.code),
        });
        await client.ready();
        stream = await server.nextStream();
        expect(stream.after).toBe(sequence.cursor);
        expectResolutions(client, sequence.expect);
      });

      it.each(sequence.steps.map((step, index) => [`${index + 1}. ${step.note}`, step] as const))(
        '%s',
        async (_, step) => {
          errors.length = 0;
          const seq = (JSON.parse(step.event) as { seq: number; type: string }).seq;
          const type = (JSON.parse(step.event) as { type: string }).type;
          stream.respond(
            `id: ${stream.after}\nevent: ready\ndata: {"cursor":${stream.after}}\n\nid: ${seq}\nevent: ${type}\ndata: ${step.event}\n\n`,
          );
          stream = await server.nextStream();
          expect(errors).toEqual(step.error === undefined ? [] : [step.error.code]);
          expect(stream.after).toBe(step.cursor);
          expect(client.status().cursor).toBe(step.cursor);
          expectResolutions(client, step.expect);
        },
      );
    });
  }
});

interface AssignmentUnit {
  readonly name: string;
  readonly salt: string;
  readonly rolloutId: string;
  readonly unitKey: string | null;
  readonly arms: readonly { readonly ramp: number; readonly arm: 'baseline' | 'candidate' }[];
}

/**
 * assignment.json through `client.get`: a split rollout with the vector's salt at each ramp serves each
 * unit the vector's arm (and the candidate's sha in the candidate arm), with no request.
 */
describe('conformance: assignment.json through get(name, { unitKey })', () => {
  const file = read<{ units: AssignmentUnit[] }>('assignment.json');
  const base = versionOf(greeter(17), 17);
  const candidate = versionOf(greeter(18), 18);
  const resolverAt = (unit: AssignmentUnit, ramp: number): Resolver => {
    const resolver = new Resolver();
    const rollout = { id: unit.rolloutId, salt: unit.salt, mode: 'split', state: 'running', ramp, candidate };
    const snapshot = {
      project: 'default',
      cursor: 1,
      prompts: {
        customer_support_greeter: {
          labels: { production: base.sha },
          versions: { [base.sha]: base },
          rollouts: { production: rollout },
        },
      },
    };
    resolver.setSnapshot(validateSnapshot(snapshot, 'assignment vector'));
    return resolver;
  };

  it.each(file.units.map((unit) => [unit.name, unit] as const))('%s', (_, unit) => {
    for (const { ramp, arm } of unit.arms) {
      const resolver = resolverAt(unit, ramp);
      // Twice: the second answer comes from the (name, label) cache entry.
      for (let i = 0; i < 2; i += 1) {
        const found = resolver.get('customer_support_greeter', { unitKey: unit.unitKey });
        expect({ ramp, variant: found.variant, sha: found.sha, rolloutId: found.rolloutId }).toEqual({
          ramp,
          variant: arm,
          sha: arm === 'candidate' ? candidate.sha : base.sha,
          rolloutId: unit.rolloutId,
        });
      }
    }
  });
});

/**
 * overrides.json through a snapshot with one tenant's override: `effective` vectors are what
 * `get(name, { tenant })` serves; a `refused` override is never served (the snapshot is refused, or the
 * tenant gets the shared base with no override sha).
 */
describe('conformance: overrides.json through get(name, { tenant })', () => {
  type Base = Snapshot['prompts'][string]['versions'][string]['content'];
  const file = read<{
    effective: { name: string; base: Base; override: string; expected: Record<string, unknown> }[];
    refused: { name: string; base: Base; override: string; error: { code: string } }[];
  }>('overrides.json');
  const resolverFor = (base: Base, override: string): Resolver => {
    const parsed = JSON.parse(override) as Record<string, unknown>;
    const sha = promptSha(base);
    let overrideId: string;
    try {
      overrideId = overrideSha(parseOverride(parsed));
    } catch {
      overrideId = contentSha(parsed);
    }
    const resolver = new Resolver();
    resolver.setSnapshot(
      validateSnapshot(
        {
          project: 'conformance',
          cursor: 1,
          prompts: {
            [base.name]: {
              labels: { production: sha },
              versions: { [sha]: { version: 1, sha, content: base } },
              overrides: { acme: { version: 1, sha: overrideId, label: 'production', override: parsed, base: null } },
            },
          },
        },
        'overrides.json',
      ),
    );
    return resolver;
  };

  for (const vector of file.effective) {
    it(vector.name, () => {
      const found = resolverFor(vector.base, vector.override).get(vector.base.name, { tenant: 'acme' });
      expect({
        content: found.content,
        sha: found.sha,
        baseSha: found.baseSha,
        overrideSha: found.overrideSha,
      }).toEqual(vector.expected);
    });
  }
  for (const vector of file.refused) {
    it(`never serves: ${vector.name}`, () => {
      let resolver: Resolver;
      try {
        resolver = resolverFor(vector.base, vector.override);
      } catch (error) {
        expect((error as PromptopsError).code).toBe('invalid_snapshot');
        return;
      }
      const found = resolver.get(vector.base.name, { tenant: 'acme' });
      expect(found).toMatchObject({ sha: promptSha(vector.base), overrideSha: null, tenant: 'acme' });
    });
  }
});
