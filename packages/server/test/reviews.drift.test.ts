import { contentSha } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterSuite, runInput } from './support/evals.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/**
 * A change request's drift check on both databases: the offline report of the prompt's suites on what
 * the label served and the proposed version; informative by default, blocking when the policy's
 * `noDrift` names a descriptor that drifted or when a required suite's run is missing.
 */

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAMES = 'ana bo chen dara eli fay gus hana ivo jun kai lea mo nia oto pia quin rui sol tam'.split(' ');
const vars = { user_name: { type: 'string', required: true } };
const anonymous = (): string => 'Hello there! Is there anything else I can help with?';

for (const dialect of DIALECTS) {
  describe(`the change request's drift check on ${dialect}`, () => {
    let registry: TestRegistry;
    let id = 0;
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key?: string) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key ?? registry.keys.admin}` },
        ...(body === undefined ? {} : { payload: body as Body }),
      });
      return { status: response.statusCode, body: response.json<Body>() };
    };
    const policy = async (fields: Body) => {
      const set = await call('PUT', '/api/v1/policies/production', { approvals: 0, ...fields });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      return set.body;
    };
    const view = async () => (await call('GET', `/api/v1/reviews/${id}`)).body;

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      const shas: string[] = [];
      let parent: string | null = null;
      for (const template of ['Greet {{user_name}} by name.', 'Greet the user. ({{user_name}})']) {
        const pushed = await call('POST', '/api/v1/prompts/greeter/versions', {
          content: textContent('greeter', template, vars),
          parent,
        });
        parent = pushed.body['sha'] as string;
        shas.push(parent);
      }
      expect((await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' })).status).toBe(200);
      const suite = greeterSuite({}, NAMES);
      await call('POST', '/api/v1/evals/suites', { content: suite });
      await call('POST', '/api/v1/evals/runs', runInput(suite, contentSha(suite), { sha: shas[0]!, version: 1 }));
      await call(
        'POST',
        '/api/v1/evals/runs',
        runInput(suite, contentSha(suite), { sha: shas[1]!, version: 2 }, anonymous),
      );
      // A second suite with a run of v1 only.
      const more = greeterSuite({ name: 'greeter-more' }, ['uma', 'vic', 'wes']);
      await call('POST', '/api/v1/evals/suites', { content: more });
      await call('POST', '/api/v1/evals/runs', runInput(more, contentSha(more), { sha: shas[0]!, version: 1 }));
      await policy({});
      const opened = await call(
        'POST',
        '/api/v1/reviews',
        { name: 'greeter', ref: 'v2', label: 'production', message: 'a small wording fix' },
        registry.keys.editor,
      );
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      id = opened.body['id'] as number;
    });
    afterAll(async () => registry.close());

    it('reports the drift of every suite with runs on both versions, without blocking', async () => {
      const cr = await view();
      expect(cr['checks']['drift']).toMatchObject({
        status: 'passed',
        noDrift: [],
        message: expect.stringMatching(/^greeter-basics: v2 drifted: outputs mention the user's name 0 % vs 100 %/),
      });
      const [basics, ...rest] = cr['checks']['drift']['suites'];
      expect(rest).toEqual([]); // greeter-more has no run of v2 and is not required: left out
      expect(basics).toMatchObject({ suite: 'greeter-basics', status: 'compared', required: false, violations: [] });
      expect(basics['report']).toMatchObject({ versions: { a: 'v1', b: 'v2' }, n: { pairs: 20 }, drifted: true });
      expect(cr['mergeable']).toBe(true);
    });

    it('fails, and refuses the merge, when a noDrift descriptor drifted', async () => {
      const set = await policy({ noDrift: ['mentions.user_name', 'format.list'] });
      expect(set['policy']['noDrift']).toEqual(['format.list', 'mentions.user_name']);
      const cr = await view();
      expect(cr['checks']['drift']).toMatchObject({
        status: 'failed',
        noDrift: ['format.list', 'mentions.user_name'],
        message: expect.stringContaining(
          'drifted where the policy requires no drift: mentions.user_name (greeter-basics)',
        ),
      });
      expect(cr['checks']['drift']['suites'][0]['violations']).toEqual(['mentions.user_name']);
      expect(cr['mergeable']).toBe(false);
      const merge = await call('POST', `/api/v1/reviews/${id}/merge`, {}, registry.keys.editor);
      expect(merge.status).toBe(422);
      expect(merge.body['error']['message']).toContain('drift: drifted where the policy requires no drift');
    });

    it('passes when the noDrift descriptors held still', async () => {
      await policy({ noDrift: ['format.*', 'refusal'] });
      const cr = await view();
      expect(cr['checks']['drift']).toMatchObject({
        status: 'passed',
        message: expect.stringMatching(/^no drift on format\.\*, refusal; greeter-basics: v2 drifted/),
      });
    });

    it('waits, saying how to produce it, when a required suite has no run of the proposed version', async () => {
      await policy({ noDrift: ['refusal'], suites: [{ suite: 'greeter-more' }] });
      const cr = await view();
      expect(cr['checks']['drift']['status']).toBe('pending');
      const [more] = cr['checks']['drift']['suites'];
      expect(more).toMatchObject({ suite: 'greeter-more', status: 'missing', required: true, report: null });
      expect(more['message']).toContain('no recorded run on v2');
      expect(more['message']).toContain('promptops drift greeter v1 v2 --suite greeter-more');
    });

    it('refuses a policy naming unknown descriptors, naming each', async () => {
      const refused = await call('PUT', '/api/v1/policies/production', {
        noDrift: ['mentions.user_name', 'tone', 'lenght.chars'],
      });
      expect(refused.status).toBe(400);
      expect(refused.body['error']).toMatchObject({
        code: 'invalid_request',
        message: "noDrift names unknown descriptors: 'tone', 'lenght.chars'",
        issues: [
          { path: 'noDrift[1]', message: "'tone' is not a drift descriptor" },
          { path: 'noDrift[2]', message: "'lenght.chars' is not a drift descriptor" },
        ],
      });
      expect(refused.body['error']['fix']).toContain('mentions.<variable>');
    });
  });
}
