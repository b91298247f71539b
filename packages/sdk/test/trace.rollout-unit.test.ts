import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { rolloutUnitHash } from '@promptops/core/rollouts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, instrumentOpenAI, type TraceInput } from '../src/index.js';
import { buildEvent } from '../src/trace/event.js';
import { spanAttributes } from '../src/trace/otel.js';
import { fakeFeed } from './support/fake-feed.js';
import { greeter, versionOf } from './support/fixtures.js';
import { startLlmServer, type LlmServer } from './support/llm-server.js';

/**
 * A rollout's traces carry their unit's identity for the server's sample-ratio check: the hash of the
 * unit key on the rollout (`rollout.unit`, OTLP `promptops.rollout.unit`), never the key itself. From
 * `client.trace({ unitKey })`, and from `instrumentOpenAI` where OpenAI's `user` field is the unit key.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 17);
const v18 = versionOf(greeter(18), 18);
const RID = 'ro_unitunitunit';
const served = { name: NAME, sha: v18.sha, version: 18, label: 'production', variant: 'candidate', rolloutId: RID };

const build = (input: TraceInput) => buildEvent(input, 'e1', Date.now());

describe('the unit on a rollout trace', () => {
  it('is the first 16 hex of sha256("rolloutId:unitKey"), the same with any digest', () => {
    const expected = createHash('sha256').update(`${RID}:user-ü-1`).digest('hex').slice(0, 16);
    expect(rolloutUnitHash(RID, 'user-ü-1')).toBe(expected);
    expect(rolloutUnitHash(RID, 'user-ü-1', (t) => createHash('sha256').update(t).digest('hex'))).toBe(expected);
    expect(rolloutUnitHash('ro_other', 'user-ü-1')).not.toBe(expected);
  });

  it('goes on the event as its hash, never the key; only with a rollout', () => {
    const built = build({ prompt: served, unitKey: 'user-42' });
    expect(built).toMatchObject({ ok: true, event: { rollout: { id: RID, arm: 'candidate' } } });
    const event = (built as { event: Record<string, unknown> }).event;
    expect((event['rollout'] as { unit: string }).unit).toBe(rolloutUnitHash(RID, 'user-42'));
    expect(JSON.stringify(event)).not.toContain('user-42');
    expect(spanAttributes(event as never)['promptops.rollout.unit']).toBe(rolloutUnitHash(RID, 'user-42'));

    const plain = build({ prompt: { name: NAME, sha: v17.sha }, unitKey: 'user-42' });
    expect(JSON.stringify(plain)).not.toContain('user-42');
    expect((plain as { event: Record<string, unknown> }).event['rollout']).toBeUndefined();
    expect(build({ prompt: served, unitKey: 42 as unknown as string })).toMatchObject({
      ok: false,
      issues: [{ path: 'unitKey', message: 'must be a string' }],
    });
  });
});

describe('instrumentOpenAI', () => {
  let llm: LlmServer;
  beforeAll(async () => {
    llm = await startLlmServer();
  });
  afterAll(async () => {
    await llm?.close();
  });

  it("takes the unit from OpenAI's `user` field and records its hash", async () => {
    const feed = fakeFeed({
      project: 'default',
      cursor: 10,
      prompts: {
        [NAME]: {
          labels: { production: v17.sha },
          versions: { [v17.sha]: v17 },
          rollouts: { production: { id: RID, salt: RID, mode: 'split', state: 'running', ramp: 100, candidate: v18 } },
        },
      },
    });
    const client = createClient({
      url: 'http://promptops.test',
      apiKey: 'po_test',
      fetch: feed.fetch,
      snapshotCheckIntervalMs: 0,
      traces: false,
    });
    await client.ready();
    const inputs: TraceInput[] = [];
    const openai = instrumentOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 }), {
      trace: (input: TraceInput) => (inputs.push(input), input.id ?? ''),
    });
    const prompt = client.get(NAME, { unitKey: 'user-7' });
    await openai.chat.completions.create({
      ...prompt.toOpenAI({ user_name: 'Ada', question: 'where is my order?' }),
      user: 'user-7',
    });
    await client.close();
    const built = buildEvent(inputs[0]!, inputs[0]!.id!, Date.now());
    expect(built).toMatchObject({
      ok: true,
      event: { rollout: { id: RID, arm: 'candidate', unit: rolloutUnitHash(RID, 'user-7') } },
    });
  });
});
