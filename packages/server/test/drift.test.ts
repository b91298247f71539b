import { contentSha, type DriftReport, type StoredDriftReport } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterSuite, runInput } from './support/evals.js';
import { addKey, DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * Drift reports over HTTP on both databases: offline (a suite's recorded runs of both versions, paired by
 * case), live (traces of each version in a window), stored with who and when, listed per prompt; the
 * errors name the field or the missing run and how to produce it.
 */

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAMES = 'ana bo chen dara eli fay gus hana ivo jun kai lea mo nia oto pia quin rui sol tam'.split(' ');
const vars = { user_name: { type: 'string', required: true } };
const V1 = textContent('greeter', 'Greet {{user_name}} by name, then offer more help.', vars);
const V2 = textContent('greeter', 'Greet the user, then offer more help. ({{user_name}})', vars);
const V3 = textContent('greeter', 'Say hello to {{user_name}}.', vars);

const byName = (v: Record<string, unknown>): string =>
  `Hi ${String(v['user_name'])}! Is there anything else I can help with?`;
const anonymous = (): string => 'Hello there! Is there anything else I can help with?';

for (const dialect of DIALECTS) {
  describe(`drift reports on ${dialect}`, () => {
    let registry: TestRegistry;
    const shas: string[] = [];
    const otherKey = 'po_test_other_drift_admin_000000000000';

    const call = async (method: 'GET' | 'POST', url: string, body?: unknown, key?: string) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key ?? registry.keys.editor}` },
        ...(body === undefined ? {} : { payload: body as Body }),
      });
      return { status: response.statusCode, body: response.json<Body>() };
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      let parent: string | null = null;
      for (const content of [V1, V2, V3]) {
        const pushed = await call('POST', '/api/v1/prompts/greeter/versions', { content, parent });
        parent = pushed.body['sha'] as string;
        shas.push(parent);
      }
      const suite = greeterSuite({}, NAMES);
      const sha = contentSha(suite);
      expect((await call('POST', '/api/v1/evals/suites', { content: suite })).status).toBe(201);
      for (const [i, output] of [byName, anonymous].entries()) {
        const run = runInput(suite, sha, { sha: shas[i]!, version: i + 1 }, output);
        const uploaded = await call('POST', '/api/v1/evals/runs', run, registry.keys.reviewer);
        expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      }
      const other = await registry.storage.transaction((tx) =>
        tx.registry.createProject('other', new Date().toISOString()),
      );
      await addKey(registry.storage, other.id, 'admin', otherKey);
    });
    afterAll(async () => registry.close());

    it('builds the offline report from both versions’ runs, paired by case, and stores it', async () => {
      const created = await call('POST', '/api/v1/drift', {
        prompt: 'greeter',
        a: 'v1',
        b: 'v2',
        source: 'offline',
        suite: 'greeter-basics',
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const stored = created.body as StoredDriftReport;
      expect(stored).toMatchObject({
        prompt: 'greeter',
        a: { sha: shas[0], version: 1 },
        b: { sha: shas[1], version: 2 },
        source: 'offline',
        suite: 'greeter-basics',
        window: null,
        drifted: true,
        createdBy: 'key:editor',
      });
      expect(stored.id).toMatch(/^\d+$/);
      expect(Date.parse(stored.createdAt)).not.toBeNaN();
      const report: DriftReport = stored.report;
      expect(report.verdict).toMatch(
        /^v2 drifted: outputs mention the user's name 0 % vs 100 % of the time \(20 paired cases/,
      );
      expect(report.n).toEqual({ a: 20, b: 20, pairs: 20 });
      const mentions = report.descriptors.find((d) => d.name === 'mentions.user_name')!;
      expect(mentions).toMatchObject({ a: 1, b: 0, drifted: true, test: 'mcnemar' });
      // The suite's assertions are descriptors too: mentions-var failed on every case of v2.
      expect(report.descriptors.find((d) => d.name === 'assertion.mentions-var')).toMatchObject({ drifted: true });
      expect(report.examples[0]).toMatchObject({ a: expect.stringContaining('Hi '), b: anonymous() });

      const again = await call('GET', `/api/v1/drift/${stored.id}`, undefined, registry.keys.viewer);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(stored);
      const listed = await call('GET', '/api/v1/prompts/greeter/drift', undefined, registry.keys.viewer);
      const { report: _body, ...summary } = stored;
      expect(listed.body['reports'][0]).toEqual(summary);
      expect(listed.body['reports'][0]).not.toHaveProperty('report');

      const audit = await call('GET', '/api/v1/audit?limit=500', undefined, registry.keys.admin);
      expect(audit.body['entries'].map((e: Body) => e['action'])).toContain('drift.reported');
    });

    it('answers 409 with the command that produces a missing run', async () => {
      const missing = await call('POST', '/api/v1/drift', {
        prompt: 'greeter',
        a: 'v2',
        b: 'v3',
        source: 'offline',
        suite: 'greeter-basics',
      });
      expect(missing.status).toBe(409);
      expect(missing.body['error']).toMatchObject({
        code: 'drift_run_missing',
        message: expect.stringContaining('no recorded run on v3'),
        fix: expect.stringContaining('promptops drift greeter v2 v3 --suite greeter-basics'),
        details: { suite: 'greeter-basics', missing: [{ version: 3, sha: shas[2] }] },
      });
    });

    it('names the field of a bad request', async () => {
      const noSuite = await call('POST', '/api/v1/drift', { prompt: 'greeter', a: 'v1', b: 'v2', source: 'offline' });
      expect(noSuite.status).toBe(400);
      expect(noSuite.body['error']['issues']).toEqual([
        { path: 'suite', message: 'is required for an offline report' },
      ]);
      const badAlpha = await call('POST', '/api/v1/drift', {
        prompt: 'greeter',
        a: 'v1',
        b: 'v2',
        source: 'offline',
        suite: 'greeter-basics',
        options: { alpha: 2 },
      });
      expect(badAlpha.status).toBe(400);
      expect(badAlpha.body['error']).toMatchObject({ code: 'invalid_drift_input' });
      expect(badAlpha.body['error']['issues'][0]['path']).toBe('options.alpha');
      const unknownSuite = await call('POST', '/api/v1/drift', {
        prompt: 'greeter',
        a: 'v1',
        b: 'v2',
        source: 'offline',
        suite: 'nope',
      });
      expect(unknownSuite.status).toBe(404);
      expect(unknownSuite.body['error']['code']).toBe('suite_not_found');
      const badWindow = await call('POST', '/api/v1/drift', {
        prompt: 'greeter',
        a: 'v1',
        b: 'v2',
        source: 'live',
        window: 'soon',
      });
      expect(badWindow.status).toBe(400);
      expect(badWindow.body['error']['issues'][0]['path']).toBe('window');
    });

    it('builds a live report from each version’s traces in the window, unpaired', async () => {
      const now = Date.now();
      const trace = (i: number, sha: string, version: number, output: string) => ({
        eventId: `drift-${dialect}-${version}-${i}`,
        traceId: null,
        spanId: null,
        parentSpanId: null,
        promptName: 'greeter',
        promptVersion: version,
        promptSha: sha,
        effectiveSha: sha,
        label: null,
        tenant: null,
        rolloutId: null,
        rolloutArm: null,
        releaseSha: null,
        variables: JSON.stringify({ user_name: NAMES[i % NAMES.length] }),
        output,
        model: null,
        provider: null,
        latencyMs: 100 + i,
        inputTokens: 10,
        outputTokens: 12,
        cost: null,
        status: 'ok' as const,
        error: null,
        attributes: null,
        startedAtMs: now - 60_000 - i * 1000,
      });
      const traces = [
        ...NAMES.map((name, i) => trace(i, shas[0]!, 1, byName({ user_name: name }))),
        ...NAMES.map((_, i) => trace(i, shas[1]!, 2, anonymous())),
        // Outside the window: not read.
        { ...trace(99, shas[1]!, 2, byName({ user_name: 'ana' })), startedAtMs: now - 3 * 86_400_000 },
      ];
      await registry.storage.traces.insertTraces(registry.projectId, traces, now);
      const created = await call('POST', '/api/v1/drift', {
        prompt: 'greeter',
        a: 'v1',
        b: 'v2',
        source: 'live',
        window: '24h',
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const stored = created.body as StoredDriftReport;
      expect(stored.source).toBe('live');
      expect(stored.window).not.toBeNull();
      expect(stored.report).toMatchObject({ paired: false, n: { a: 20, b: 20, pairs: null }, drifted: true });
      expect(stored.report.descriptors.find((d) => d.name === 'mentions.user_name')).toMatchObject({
        a: 1,
        b: 0,
        test: 'two-proportion-z',
        drifted: true,
      });
    });

    it('keeps reports to their project and to roles that may build them', async () => {
      const listed = await call('GET', '/api/v1/prompts/greeter/drift');
      const id = listed.body['reports'][0]['id'] as string;
      expect((await call('GET', `/api/v1/drift/${id}`, undefined, otherKey)).status).toBe(404);
      const viewer = await call(
        'POST',
        '/api/v1/drift',
        { prompt: 'greeter', a: 'v1', b: 'v2', source: 'offline', suite: 'greeter-basics' },
        registry.keys.viewer,
      );
      expect(viewer.status).toBe(403);
    });
  });
}
