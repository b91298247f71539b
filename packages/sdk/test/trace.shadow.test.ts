import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, instrumentOpenAI, type PromptopsClient, type TraceInput } from '../src/index.js';
import { buildEvent } from '../src/trace/event.js';
import { SHADOW, type ShadowRunner } from '../src/trace/shadow.js';
import { fakeFeed } from './support/fake-feed.js';
import { greeter, versionOf } from './support/fixtures.js';
import { replyTo, startLlmServer, type LlmServer } from './support/llm-server.js';

/**
 * Shadow rollouts through `instrumentOpenAI`: after the app's call, the candidate runs on a copy of it in
 * the background (bounded, dropped and counted under pressure) and is recorded as a shadow trace paired
 * with the call's own (`shadowOf`), both carrying the rollout's id and arm.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 17);
const v18 = versionOf(greeter(18), 18);
const RID = 'ro_shadowshadow';
const snapshot = (mode: 'shadow' | 'split') => ({
  project: 'default',
  cursor: 10,
  prompts: {
    [NAME]: {
      labels: { production: v17.sha },
      versions: { [v17.sha]: v17 },
      rollouts: { production: { id: RID, salt: RID, mode, state: 'running', ramp: 100, candidate: v18 } },
    },
  },
});
const vars = (i: number) => ({ user_name: `user-${i}`, question: `where is order ${i}?` });

/** A trace target that keeps what it is given, and shares the client's shadow runner. */
const keeping = (client: PromptopsClient) => {
  const inputs: TraceInput[] = [];
  const target = {
    trace: (input: TraceInput): string => {
      inputs.push(input);
      return input.id ?? '';
    },
    get [SHADOW](): unknown {
      return (client as unknown as Record<symbol, unknown>)[SHADOW];
    },
  };
  return { inputs, target };
};

const wire = (input: TraceInput) => {
  const built = buildEvent(input, input.id!, Date.now());
  if (!built.ok) throw new Error(JSON.stringify(built.issues));
  return built.event;
};

const clients: PromptopsClient[] = [];
const startClient = async (mode: 'shadow' | 'split', shadow?: { concurrency?: number; maxQueue?: number }) => {
  const feed = fakeFeed(snapshot(mode));
  const client = createClient({
    url: 'http://promptops.test',
    apiKey: 'test',
    fetch: feed.fetch,
    snapshotCheckIntervalMs: 0,
    traces: false,
    ...(shadow === undefined ? {} : { shadow }),
  });
  clients.push(client);
  await client.ready();
  return client;
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('shadow calls with the official openai client', () => {
  let llm: LlmServer;
  beforeAll(async () => {
    llm = await startLlmServer();
  });
  afterAll(async () => {
    await llm?.close();
  });

  it('answers with the baseline, then runs the candidate in the background and pairs the traces', async () => {
    llm.requests.length = 0;
    const client = await startClient('shadow');
    const { inputs, target } = keeping(client);
    const openai = instrumentOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 }), target);
    const prompt = client.get(NAME, { unitKey: 'user-1' });
    expect(prompt).toMatchObject({ variant: 'baseline', sha: v17.sha, rolloutId: RID });
    expect(prompt.shadow).toMatchObject({ rolloutId: RID, sha: v18.sha, version: 18 });

    const request = prompt.toOpenAI(vars(1));
    const completion = await openai.chat.completions.create(request);
    // The caller has the baseline's answer before the candidate's copy was even sent.
    expect(completion.choices[0]?.message.content).toBe(replyTo(request.messages));
    expect(llm.requests.length).toBe(1);
    expect(client.shadowStats()).toMatchObject({ running: 1, done: 0 });

    await (client as unknown as Record<symbol, ShadowRunner>)[SHADOW]!.idle();
    const candidate = prompt.shadow!.toOpenAI(vars(1));
    expect(llm.requests.map((r) => r.body)).toEqual([request, candidate]);
    expect(client.shadowStats()).toMatchObject({ running: 0, queued: 0, done: 1, dropped: 0 });

    const [baseline, shadow] = inputs.map(wire);
    expect(baseline).toMatchObject({ prompt: { sha: v17.sha }, rollout: { id: RID, arm: 'baseline' } });
    expect(baseline!.shadowOf).toBeUndefined();
    expect(shadow).toMatchObject({
      prompt: { name: NAME, sha: v18.sha, version: 18 },
      label: 'production',
      rollout: { id: RID, arm: 'candidate' },
      shadowOf: baseline!.id,
      output: replyTo(candidate.messages),
      status: 'ok',
      attributes: { 'promptops.shadow': true },
    });
    expect(shadow!.variables).toEqual(vars(1));
  });

  it('copies a streamed call once the stream is read, without streaming the copy', async () => {
    llm.requests.length = 0;
    const client = await startClient('shadow');
    const { inputs, target } = keeping(client);
    const openai = instrumentOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 }), target);
    const prompt = client.get(NAME, { unitKey: 'user-2' });
    const stream = await openai.chat.completions.create({ ...prompt.toOpenAI(vars(2)), stream: true });
    for await (const chunk of stream) void chunk;
    await (client as unknown as Record<symbol, ShadowRunner>)[SHADOW]!.idle();
    expect(llm.requests.map((r) => r.body.stream)).toEqual([true, undefined]);
    expect(inputs.map((i) => wire(i).shadowOf)).toEqual([undefined, inputs[0]!.id]);
  });

  it('runs no copy for a split rollout, a failed call, or with shadow: false', async () => {
    llm.requests.length = 0;
    const split = await startClient('split');
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL, maxRetries: 0 });
    instrumentOpenAI(openai, keeping(split).target);
    const served = split.get(NAME, { unitKey: 'user-3' });
    expect(served.shadow).toBeNull();
    await openai.chat.completions.create(served.toOpenAI(vars(3)));

    const client = await startClient('shadow');
    instrumentOpenAI(openai, keeping(client).target);
    llm.mode = 500;
    await expect(
      openai.chat.completions.create(client.get(NAME, { unitKey: 'u' }).toOpenAI(vars(4))),
    ).rejects.toThrow();
    llm.mode = 'ok';
    instrumentOpenAI(openai, keeping(client).target, { shadow: false });
    await openai.chat.completions.create(client.get(NAME, { unitKey: 'u' }).toOpenAI(vars(5)));
    await (client as unknown as Record<symbol, ShadowRunner>)[SHADOW]!.idle();
    expect(llm.requests).toHaveLength(3);
    expect(client.shadowStats()).toMatchObject({ done: 0, dropped: 0 });
  });
});

describe('shadow calls under pressure', () => {
  it('runs at most `concurrency` at once, queues `maxQueue`, drops and counts the rest', async () => {
    const client = await startClient('shadow', { concurrency: 1, maxQueue: 2 });
    const { inputs, target } = keeping(client);
    // A provider whose baseline answers at once and whose candidate copies wait until released.
    const held: (() => void)[] = [];
    const fake = {
      chat: {
        completions: {
          create: (params: { messages: { content: string }[] }) => {
            const answer = { choices: [{ message: { content: 'ok' } }] };
            if (!params.messages[0]!.content.includes('revision 18')) return Promise.resolve(answer);
            return new Promise((resolve) => held.push(() => resolve(answer)));
          },
        },
      },
    };
    const openai = instrumentOpenAI(fake, target);
    for (let i = 0; i < 6; i += 1) {
      await openai.chat.completions.create(client.get(NAME, { unitKey: `u${i}` }).toOpenAI(vars(i)) as never);
    }
    const runner = (client as unknown as Record<symbol, ShadowRunner>)[SHADOW]!;
    expect(client.shadowStats()).toMatchObject({ running: 1, queued: 2, dropped: 3, done: 0 });
    while (client.shadowStats().done < 3) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      held.shift()?.();
    }
    await runner.idle();
    expect(client.shadowStats()).toEqual({ running: 0, queued: 0, done: 3, dropped: 3, failed: 0 });
    expect(inputs.filter((i) => i.shadowOf !== undefined)).toHaveLength(3);
  });
});
