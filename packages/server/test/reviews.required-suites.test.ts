import { contentSha, type EvalGateVerdict } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterSuite, runInput } from './support/evals.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * A policy's required suites are the suites that test the prompt at hand: a label policy for every prompt
 * that requires `greeter-basics` (which tests `greeter`) gates the greeter, and says of any other prompt
 * that no required suite tests it, instead of asking for a run that can never exist. A required suite
 * registered for no prompt at all stays missing: the policy names something that is not there yet.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAMED = { user_name: { type: 'string', required: true } };

for (const dialect of DIALECTS) {
  describe(`required suites mean the suites that test the prompt, on ${dialect}`, () => {
    let registry: TestRegistry;
    const sha: Record<string, string> = {};

    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key?: string) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key ?? registry.keys.admin}` },
        ...(body === undefined ? {} : { payload: body as Json }),
      });
      return { status: response.statusCode, body: response.json() as Json };
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      for (const name of ['greeter', 'classifier']) {
        const pushed = await call(
          'POST',
          `/api/v1/prompts/${name}/versions`,
          { content: textContent(name, 'Greet {{user_name}}; ask what else they need.', NAMED), parent: null },
          registry.keys.editor,
        );
        expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
        sha[name] = pushed.body['sha'] as string;
      }
      const suite = greeterSuite();
      expect((await call('POST', '/api/v1/evals/suites', { content: suite })).status).toBe(201);
      const run = await call(
        'POST',
        '/api/v1/evals/runs',
        runInput(suite, contentSha(suite), { sha: sha['greeter']!, version: 1 }),
      );
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      const production = await call('PUT', '/api/v1/policies/production', {
        approvals: 1,
        suites: [{ suite: 'greeter-basics' }],
      });
      expect(production.status, JSON.stringify(production.body)).toBe(200);
      const staging = await call('PUT', '/api/v1/policies/staging', {
        protected: false,
        suites: [{ suite: 'greeter-basics' }],
      });
      expect(staging.status, JSON.stringify(staging.body)).toBe(200);
    });
    afterAll(async () => {
      await registry.close();
    });

    it('a change request for a prompt no required suite tests merges once approved', async () => {
      const opened = await call(
        'POST',
        '/api/v1/reviews',
        { name: 'classifier', ref: 'v1', label: 'production', message: 'first release' },
        registry.keys.editor,
      );
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      const id = opened.body['id'] as number;
      expect(opened.body['checks']['evals']).toMatchObject({
        status: 'passed',
        message: 'no required suite tests classifier (greeter-basics tests greeter)',
      });
      const approved = await call('POST', `/api/v1/reviews/${id}/approve`, { comment: 'ok' }, registry.keys.reviewer);
      expect(approved.body).toMatchObject({ mergeable: true });
      const merged = await call('POST', `/api/v1/reviews/${id}/merge`, {}, registry.keys.editor);
      expect(merged.status, JSON.stringify(merged.body)).toBe(200);
      expect(merged.body).toMatchObject({ status: 'merged' });
    });

    it('the gate names the suites that do not apply, and passes with none to run', async () => {
      const response = await call('GET', '/api/v1/prompts/classifier/gate?ref=v1&label=staging&suite=greeter-basics');
      const verdict = response.body as EvalGateVerdict;
      expect(verdict).toMatchObject({
        passed: true,
        suites: [],
        skipped: [
          {
            suite: 'greeter-basics',
            tests: ['greeter'],
            message: "suite 'greeter-basics' tests greeter, not classifier: it does not apply",
          },
        ],
      });
      // A direct promote on an unprotected label whose policy requires suites: nothing applies, it moves.
      const promoted = await call(
        'PUT',
        '/api/v1/prompts/classifier/labels/staging',
        { ref: 'v1' },
        registry.keys.deployer,
      );
      expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    });

    it('still gates the prompt the suite tests, and a suite registered nowhere stays missing', async () => {
      const greeter = await call('GET', '/api/v1/prompts/greeter/gate?ref=v1&label=staging&suite=greeter-basics');
      expect(greeter.body).toMatchObject({ passed: true, suites: [{ suite: 'greeter-basics', status: 'passed' }] });

      const nowhere = await call('GET', '/api/v1/prompts/classifier/gate?ref=v1&label=staging&suite=tone-check');
      expect(nowhere.body).toMatchObject({
        passed: false,
        skipped: [],
        suites: [{ suite: 'tone-check', status: 'missing' }],
      });
      expect(nowhere.body['suites'][0]['message']).toContain("suite 'tone-check' is not registered in this project");
    });
  });
}
