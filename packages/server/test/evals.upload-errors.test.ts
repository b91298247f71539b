import { contentSha, type EvalCaseResult, type EvalRunRecord } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterSuite, runInput } from './support/evals.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * A run whose provider failed on a case uploads that case as an error (the runner sends it without
 * assertion results: there was no output to assert on), and an upload that carries its suite registers
 * both in one transaction: when the run is refused, no suite version is left behind.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAMED = { user_name: { type: 'string', required: true } };

/** What the runner uploads for a case whose provider call failed. */
const errored = (result: EvalCaseResult, error: string): EvalCaseResult => ({
  ...result,
  output: null,
  error,
  pass: false,
  score: 0,
  assertions: [],
  latencyMs: null,
  usage: { inputTokens: null, outputTokens: null },
  cost: null,
});

for (const dialect of DIALECTS) {
  describe(`uploading runs with errored cases on ${dialect}`, () => {
    let registry: TestRegistry;
    let promptSha = '';

    const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${registry.keys.admin}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };
    const evalAudit = async () =>
      (await registry.storage.registry.listAudit(registry.projectId, { limit: 500 })).filter((e) =>
        e.action.startsWith('eval.'),
      );

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const pushed = await call('POST', '/api/v1/prompts/greeter/versions', {
        content: textContent('greeter', 'Greet {{user_name}}; ask what else they need.', NAMED),
        parent: null,
      });
      promptSha = pushed.body['sha'] as string;
    });
    afterAll(async () => {
      await registry.close();
    });

    it('records an errored case as an error, registering the suite it carries', async () => {
      const suite = greeterSuite();
      const input = runInput(suite, contentSha(suite), { sha: promptSha, version: 1 });
      const cases = input.cases.map((c, index) => (index === 1 ? errored(c, 'openai: HTTP 400: bad request') : c));
      const response = await call('POST', '/api/v1/evals/runs', {
        ...input,
        suite: { ...input.suite, content: suite },
        cases,
      });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      const run = response.body as EvalRunRecord;
      expect(run.passed).toBe(false);
      expect(run.summary).toMatchObject({ total: 3, passed: 2, failed: 1, errors: 1 });
      expect(run.cases[1]).toMatchObject({
        id: 'greets-bo',
        pass: false,
        output: null,
        error: 'openai: HTTP 400: bad request',
      });
      expect(run.cases[1]!.assertions.every((a) => !a.pass && a.reason.includes('no output'))).toBe(true);
      const versions = await call('GET', '/api/v1/evals/suites/greeter-basics');
      expect(versions.body['versions']).toHaveLength(1);
      expect((await evalAudit()).map((e) => e.action)).toEqual(['eval.suite.created', 'eval.run.recorded']);
    });

    it('leaves nothing behind when the run is refused', async () => {
      const suite = greeterSuite({ name: 'greeter-more' }, ['ana', 'bo', 'chen', 'dara']);
      const input = runInput(suite, contentSha(suite), { sha: promptSha, version: 1 });
      const refused = await call('POST', '/api/v1/evals/runs', {
        ...input,
        suite: { ...input.suite, content: suite },
        cases: input.cases.slice(1),
      });
      expect(refused.status).toBe(422);
      expect(refused.body['error']).toMatchObject({ code: 'case_mismatch' });
      expect((await call('GET', '/api/v1/evals/suites/greeter-more')).body['error']).toMatchObject({
        code: 'suite_not_found',
      });
      expect(await evalAudit()).toHaveLength(2);

      // The suite it carries must be the one it names.
      const other = await call('POST', '/api/v1/evals/runs', {
        ...input,
        suite: { ...input.suite, content: greeterSuite({ name: 'greeter-more' }) },
      });
      expect(other.status).toBe(400);
      expect(other.body['error']['message']).toContain('suite.content');
      expect((await call('GET', '/api/v1/evals/suites/greeter-more')).status).toBe(404);
    });
  });
}
