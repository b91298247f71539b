import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  compareRuns,
  parseEvalSuiteFile,
  parsePromptFile,
  type EvalSuiteContent,
  type PromptContent,
} from '@promptops/core';
import {
  createFileCache,
  createMemoryCache,
  createProvider,
  runPassed,
  runSuite,
  simulateAnswer,
  type Provider,
} from '../src/index.js';
import { completion, json, startModelServer, type ModelServer } from './support/model-server.js';

const root = new URL('../../../', import.meta.url);
const V17 = parsePromptFile(
  await readFile(new URL('examples/prompts/customer_support_greeter.prompt.yaml', root), 'utf8'),
  {
    file: 'greeter',
    defaultName: 'customer_support_greeter',
  },
);
const V18: PromptContent = {
  ...V17,
  ...(V17.type === 'chat'
    ? {
        messages: V17.messages.map((m) => ({
          ...m,
          content: m.content.replace('Always greet the user by name.\n', ''),
        })),
      }
    : {}),
} as PromptContent;
const GREETER_SUITE = parseEvalSuiteFile(
  await readFile(new URL('examples/evals/greeter-basics.eval.yaml', root), 'utf8'),
  {
    file: 'examples/evals/greeter-basics.eval.yaml',
  },
);
const simulated = createProvider(GREETER_SUITE.provider, { env: {} });

describe('simulated provider', () => {
  it('greets by name only when told to, and ends with the phrase it is given', () => {
    const vars = { user_name: 'Alice', question: 'How do I reset my password?' };
    const render = (content: PromptContent) => {
      if (content.type !== 'chat') throw new Error('chat');
      return {
        type: 'chat' as const,
        messages: content.messages.map((m) => ({
          ...m,
          content: m.content.replace('{{user_name}}', 'Alice').replace('{{question}}', vars.question),
        })),
      };
    };
    const v17 = simulateAnswer(render(V17), vars);
    const v18 = simulateAnswer(render(V18), vars);
    expect(v17).toMatch(/^Hello, Alice!/);
    expect(v17.endsWith('Is there anything else I can help with?')).toBe(true);
    expect(v18).not.toContain('Alice');
    expect(v18.endsWith('Is there anything else I can help with?')).toBe(true);
    expect(simulateAnswer(render(V17), vars)).toBe(v17);
  });

  it('answers in JSON and keeps to a word limit when told to', () => {
    const prompt = (system: string) => ({
      type: 'chat' as const,
      messages: [
        { role: 'system' as const, content: system },
        { role: 'user' as const, content: 'What are your opening hours and how can I reach you by phone?' },
      ],
    });
    const answer = JSON.parse(
      simulateAnswer(prompt('Respond in JSON. Greet the user by name.'), { name: 'Kim' }),
    ) as Record<string, unknown>;
    expect(answer.greeting).toBe('Hello, Kim!');
    expect(typeof answer.answer).toBe('string');
    const short = simulateAnswer(prompt('Answer in at most 8 words. Always end with "Bye now."'), {});
    expect(short.split(/\s+/)).toHaveLength(8);
    expect(short.endsWith('Bye now.')).toBe(true);
    expect(simulateAnswer({ type: 'text', text: 'Say something about tea.' })).toContain('tea');
  });
});

describe('the greeter suite with the simulated provider', () => {
  it('passes on v17 and fails on v18, mentions-var regressing on every case', async () => {
    const v17 = await runSuite({
      suite: GREETER_SUITE,
      prompt: { content: V17, version: 17 },
      provider: simulated,
      cache: null,
    });
    const v18 = await runSuite({
      suite: GREETER_SUITE,
      prompt: { content: V18, version: 18 },
      provider: simulated,
      cache: null,
    });
    expect(v17.cases.every((c) => c.pass)).toBe(true);
    expect(runPassed(GREETER_SUITE, v17.cases)).toBe(true);
    expect(v18.cases.some((c) => c.pass)).toBe(false);
    expect(runPassed(GREETER_SUITE, v18.cases)).toBe(false);
    for (const c of v18.cases) {
      const failing = c.assertions.filter((a) => !a.pass).map((a) => a.type);
      expect(failing).toEqual(['mentions-var']);
    }
    expect(compareRuns(v17, v18).regressions).toEqual(GREETER_SUITE.cases.map((c) => c.id));
    expect(v17.provider).toEqual({ id: 'simulated', model: 'simulated-1', params: {} });
    expect(v17.prompt).toMatchObject({ name: 'customer_support_greeter', version: 17 });
    expect(v17.cases[0]?.cost).toBe(0);
  });
});

describe('runner against a local OpenAI-compatible server', () => {
  let server: ModelServer | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const suiteText = (questions: readonly string[], extra = ''): string =>
    [
      'name: cached',
      'prompt: customer_support_greeter',
      'provider: { id: openai, model: gpt-4o-mini, baseUrl: "BASE" }',
      'cases:',
      ...questions.map(
        (q, i) =>
          `  - id: c${i}\n    vars: { user_name: U${i}, question: "${q}" }\n    assert: [{ type: mentions-var, value: user_name }${extra}]`,
      ),
    ].join('\n');
  const suiteFor = (url: string, questions: readonly string[], extra = ''): EvalSuiteContent =>
    parseEvalSuiteFile(suiteText(questions, extra).replace('BASE', `${url}/v1`), { file: 'cached.eval.yaml' });

  /**
   * `overlapOf`: each answer waits until that many requests are waiting (or all `total` have come), so
   * requests overlap by construction, not by a delay. A runner that never overlaps them hangs the test.
   */
  const echoServer = (overlap?: { overlapOf: number; total: number }) => {
    let arrived = 0;
    const waiting: (() => void)[] = [];
    const turn = (): Promise<void> =>
      new Promise((resolve) => {
        arrived += 1;
        waiting.push(resolve);
        if (waiting.length >= overlap!.overlapOf || arrived === overlap!.total)
          for (const go of waiting.splice(0)) go();
      });
    return startModelServer(async (req, _i, res) => {
      if (overlap !== undefined) await turn();
      const messages = req.body.messages as { content: string }[];
      json(res, 200, completion(`Hi ${messages.at(-1)?.content ?? ''}`));
    });
  };

  it('an unchanged rerun makes zero calls; one changed case re-runs only that case; no cache forces all', async () => {
    server = await echoServer();
    const dir = await mkdtemp(join(tmpdir(), 'promptops-cache-'));
    dirs.push(dir);
    const questions = ['one?', 'two?', 'three?', 'four?', 'five?'];
    const provider = (suite: EvalSuiteContent): Provider => createProvider(suite.provider, { env: {} });
    const first = suiteFor(server.url, questions);
    const run = (suite: EvalSuiteContent, cache = createFileCache(dir)) =>
      runSuite({ suite, prompt: { content: V17, version: 17 }, provider: provider(suite), cache, concurrency: 3 });

    const cold = await run(first);
    expect(server.requests).toHaveLength(5);
    expect(cold.stats).toEqual({ calls: 5, cacheHits: 0 });
    expect(cold.cases.every((c) => c.pass && !c.cached)).toBe(true);
    expect(cold.cases[0]?.usage).toEqual({ inputTokens: 12, outputTokens: 5 });

    const warm = await run(first);
    expect(server.requests).toHaveLength(5);
    expect(warm.cases.every((c) => c.cached)).toBe(true);
    expect(warm.cases.map((c) => c.output)).toEqual(cold.cases.map((c) => c.output));

    const changed = suiteFor(server.url, ['one?', 'two?', 'THREE?', 'four?', 'five?']);
    const partial = await run(changed);
    expect(server.requests).toHaveLength(6);
    expect(partial.cases.map((c) => c.cached)).toEqual([true, true, false, true, true]);
    expect(server.requests[5]?.body.messages).toEqual(
      expect.arrayContaining([expect.objectContaining({ content: 'U2 asks: THREE?' })]),
    );

    // A new assertion re-scores stored outputs: no call.
    const rescored = await run(suiteFor(server.url, questions, ', { type: icontains, value: "hi" }'));
    expect(server.requests).toHaveLength(6);
    expect(rescored.cases.every((c) => c.cached && c.assertions.length === 2)).toBe(true);

    await runSuite({ suite: first, prompt: { content: V17, version: 17 }, provider: provider(first), cache: null });
    expect(server.requests).toHaveLength(11);
  });

  it('keeps to the concurrency limit and reports progress for every case', async () => {
    server = await echoServer({ overlapOf: 2, total: 12 });
    const suite = suiteFor(
      server.url,
      Array.from({ length: 12 }, (_, i) => `q${i}?`),
    );
    const progress: number[] = [];
    const run = await runSuite({
      suite,
      prompt: { content: V17, version: 17 },
      provider: createProvider(suite.provider, { env: {} }),
      cache: createMemoryCache(),
      concurrency: 3,
      onProgress: (p) => progress.push(p.done),
    });
    expect(server.requests).toHaveLength(12);
    expect(server.maxInFlight()).toBeLessThanOrEqual(3);
    expect(server.maxInFlight()).toBeGreaterThan(1);
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(run.cases).toHaveLength(12);
  });

  it('a provider failure fails its case with the error; the run goes on', async () => {
    server = await startModelServer((req, _i, res) => {
      const messages = req.body.messages as { content: string }[];
      if ((messages.at(-1)?.content ?? '').includes('bad')) json(res, 400, { error: 'bad request' });
      else json(res, 200, completion('Hello U0'));
    });
    const suite = suiteFor(server.url, ['good?', 'bad?']);
    const run = await runSuite({
      suite,
      prompt: { content: V17, version: 17 },
      provider: createProvider(suite.provider, { env: {} }),
      cache: null,
    });
    expect(run.cases[0]).toMatchObject({ pass: true, error: null });
    expect(run.cases[1]).toMatchObject({ pass: false, output: null });
    expect(run.cases[1]?.error).toContain('HTTP 400');
  });

  it('llm-rubric asks the judge with the versioned judge prompt and caches its verdict', async () => {
    server = await startModelServer((req, _i, res) => {
      const messages = req.body.messages as { role: string; content: string }[];
      if (messages[0]?.content.startsWith('You grade')) {
        const pass = messages[1]?.content.includes('Hello U0') === true;
        json(
          res,
          200,
          completion(JSON.stringify({ pass, score: pass ? 0.9 : 0.2, reason: pass ? 'greets' : 'no greeting' })),
        );
      } else json(res, 200, completion(messages.at(-1)?.content.includes('U0') === true ? 'Hello U0' : 'Go away'));
    });
    const suite = suiteFor(server.url, ['a?', 'b?'], ', { type: llm-rubric, value: "greets the user politely" }');
    const cache = createMemoryCache();
    const run = () =>
      runSuite({
        suite,
        prompt: { content: V17, version: 17 },
        provider: createProvider(suite.provider, { env: {} }),
        cache,
      });
    const first = await run();
    expect(server.requests).toHaveLength(4);
    expect(first.cases[0]?.assertions[1]).toMatchObject({ type: 'llm-rubric', pass: true, score: 0.9 });
    expect(first.cases[1]?.assertions[1]).toMatchObject({ pass: false, score: 0.2 });
    expect(first.cases[1]?.assertions[1]?.reason).toContain('no greeting');
    await run();
    expect(server.requests).toHaveLength(4);
  });

  it('a case whose vars do not fit the prompt fails with the render error', async () => {
    const suite = parseEvalSuiteFile(
      'name: s\nprompt: customer_support_greeter\ncases:\n  - id: x\n    vars: { user_name: A }\n',
      {
        file: 's.eval.yaml',
      },
    );
    const run = await runSuite({ suite, prompt: { content: V17, version: 17 }, provider: simulated, cache: null });
    expect(run.cases[0]?.pass).toBe(false);
    expect(run.cases[0]?.error).toContain('question');
  });
});
