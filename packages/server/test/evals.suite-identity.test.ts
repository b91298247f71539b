import { contentSha, type EvalGateVerdict, type EvalSuiteContent } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterSuite, runInput } from './support/evals.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * A suite is identified by the prompt it tests and its name: a suite of the same name that tests another
 * prompt is a suite of its own (version 1), never a new version of the first, so the first prompt's gate
 * is untouched. Every suite version and every recorded run is in the audit log.
 */

type Body = Record<string, unknown>;

const NAMED = { user_name: { type: 'string', required: true } };

for (const dialect of DIALECTS) {
  describe(`eval suites are per prompt on ${dialect}`, () => {
    let registry: TestRegistry;
    const sha: Record<string, string> = {};

    const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${registry.keys.admin}` },
        ...(body === undefined ? {} : { payload: body as Body }),
      });
      return { status: response.statusCode, body: response.json<Body>() };
    };
    const gate = async (prompt: string, ref: string) => {
      const response = await call(
        'GET',
        `/api/v1/prompts/${prompt}/gate?ref=${ref}&label=production&suite=greeter-basics`,
      );
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as unknown as EvalGateVerdict;
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      for (const name of ['greeter', 'welcome']) {
        const pushed = await call('POST', `/api/v1/prompts/${name}/versions`, {
          content: textContent(name, 'Greet {{user_name}} by name; ask what else they need.', NAMED),
          parent: null,
        });
        expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
        sha[name] = pushed.body['sha'] as string;
      }
    });
    afterAll(async () => {
      await registry.close();
    });

    it("a same-named suite for another prompt is its own suite and leaves the first prompt's gate alone", async () => {
      const greeter = greeterSuite();
      const pushed = await call('POST', '/api/v1/evals/suites', { content: greeter });
      expect(pushed.body).toMatchObject({ name: 'greeter-basics', prompt: 'greeter', version: 1, created: true });
      const recorded = await call(
        'POST',
        '/api/v1/evals/runs',
        runInput(greeter, contentSha(greeter), { sha: sha['greeter']!, version: 1 }),
      );
      expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
      expect((await gate('greeter', 'v1')).suites[0]).toMatchObject({ status: 'passed' });

      // The README's suite file copied for a new prompt: same name, another prompt.
      const welcome: EvalSuiteContent = { ...greeterSuite(), prompt: 'welcome' };
      const second = await call('POST', '/api/v1/evals/suites', { content: welcome });
      expect(second.status, JSON.stringify(second.body)).toBe(201);
      expect(second.body).toMatchObject({ name: 'greeter-basics', prompt: 'welcome', version: 1, created: true });

      // The greeter's gate still rests on its own suite and run.
      expect((await gate('greeter', 'v1')).suites[0]).toMatchObject({
        status: 'passed',
        suiteSha: contentSha(greeter),
      });
      // The new prompt has its own suite, with no run yet.
      expect((await gate('welcome', 'v1')).suites[0]).toMatchObject({
        status: 'missing',
        suiteSha: contentSha(welcome),
      });

      const list = await call('GET', '/api/v1/evals/suites');
      expect(list.body['suites']).toEqual([
        expect.objectContaining({ name: 'greeter-basics', prompt: 'greeter', version: 1 }),
        expect.objectContaining({ name: 'greeter-basics', prompt: 'welcome', version: 1 }),
      ]);
      const one = await call('GET', '/api/v1/evals/suites/greeter-basics?prompt=welcome');
      expect(one.status, JSON.stringify(one.body)).toBe(200);
      expect((one.body['versions'] as { prompt: string; version: number }[]).map((v) => [v.prompt, v.version])).toEqual(
        [['welcome', 1]],
      );
      const both = await call('GET', '/api/v1/evals/suites/greeter-basics');
      expect((both.body['versions'] as { prompt: string }[]).map((v) => v.prompt).sort()).toEqual([
        'greeter',
        'welcome',
      ]);

      // A run of the new suite is recorded against the new prompt only.
      const run = await call(
        'POST',
        '/api/v1/evals/runs',
        runInput(welcome, contentSha(welcome), { sha: sha['welcome']!, version: 1 }),
      );
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      expect((await gate('welcome', 'v1')).suites[0]).toMatchObject({ status: 'passed' });
      expect((await gate('greeter', 'v1')).suites[0]).toMatchObject({ runId: recorded.body['id'] });
    });

    it('records every suite version and every run in the audit log', async () => {
      const entries = (await registry.storage.registry.listAudit(registry.projectId, { limit: 500 })).filter((e) =>
        e.action.startsWith('eval.'),
      );
      expect(entries.map((e) => [e.action, e.target, e.actor])).toEqual([
        ['eval.suite.created', 'greeter:evals/greeter-basics', 'key:admin'],
        ['eval.run.recorded', 'greeter:evals/greeter-basics', 'key:admin'],
        ['eval.suite.created', 'welcome:evals/greeter-basics', 'key:admin'],
        ['eval.run.recorded', 'welcome:evals/greeter-basics', 'key:admin'],
      ]);
      expect(JSON.parse(entries[0]!.data)).toMatchObject({
        prompt: 'greeter',
        suite: 'greeter-basics',
        version: 1,
        cases: 3,
      });
      expect(JSON.parse(entries[1]!.data)).toMatchObject({
        prompt: 'greeter',
        suite: 'greeter-basics',
        promptVersion: 1,
        passed: true,
      });
      expect(JSON.parse(entries[1]!.data)).toMatchObject({ cases: { total: 3, passed: 3, errors: 0 } });
      // Pushing the same content again is no new version and no new entry.
      await call('POST', '/api/v1/evals/suites', { content: greeterSuite() });
      const after = (await registry.storage.registry.listAudit(registry.projectId, { limit: 500 })).filter((e) =>
        e.action.startsWith('eval.'),
      );
      expect(after).toHaveLength(4);
    });
  });
}
