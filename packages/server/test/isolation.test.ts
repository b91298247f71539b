import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Reply } from './support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';
import { greeterSuite, runInput } from './support/evals.js';
import { traceEvent } from './support/traces.js';

/**
 * Object-level isolation: a key of project A naming project B's prompts, versions, labels, deployments,
 * audit, traces, scores, keys, members, change requests and eval runs, by real or guessed names and ids,
 * gets 404 and nothing of B.
 */

const MARKER = 'ONLY_IN_PROJECT_B';
const SHARED = 'shared-name';

for (const dialect of DIALECTS)
  describe(`project isolation on ${dialect}`, () => {
    let r: TestRegistry;
    let a: string;
    let b: string;
    const bNames = ['b-secret-prompt', 'team/b-classifier', SHARED];
    const bTraces = ['b-trace-1', 'b-trace-2'];
    const bShas: string[] = [];
    const bKeyIds: string[] = [];
    // Names that cannot occur by chance in a hex sha or hash in an answer.
    const bMembers = ['beatrix', 'bert'];
    const bReviews: number[] = [];
    const bRuns: string[] = [];
    const aNames = new Set(['a-prompt', SHARED]);
    const aMembers = new Set(['ann']);
    let bAuditCount = 0;

    /** Anything that only B holds, which no answer to A may contain. */
    const secretsOfB = (): string[] => [
      MARKER,
      ...bShas,
      ...bKeyIds,
      'beatrix',
      'bert',
      'b-trace',
      'b-secret-prompt',
      'b-suite',
    ];
    const expectNothingOfB = (reply: Reply, asked: string): void => {
      for (const secret of secretsOfB()) {
        if (asked.includes(secret)) continue; // an echo of what the caller sent is not a leak
        expect(reply.text, `${asked} leaked ${secret}`).not.toContain(secret);
      }
    };
    const expect404 = (reply: Reply, asked: string): void => {
      expect(reply.status, `${asked}: ${reply.text}`).toBe(404);
      expectNothingOfB(reply, asked);
    };

    beforeAll(async () => {
      r = await openTestRegistry(dialect);
      a = r.keys.admin;
      const created = await call<{ secret: string }>(r.app, 'POST', '/api/v1/projects', a, { name: 'project-b' });
      expect(created.status).toBe(201);
      b = created.body.secret;
      for (const name of bNames) {
        const first = await call<{ sha: string }>(
          r.app,
          'POST',
          `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
          b,
          {
            content: textContent(name, `${MARKER} one`),
            parent: null,
          },
        );
        const second = await call<{ sha: string }>(
          r.app,
          'POST',
          `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
          b,
          {
            content: textContent(name, `${MARKER} two`),
            parent: first.body.sha,
          },
        );
        bShas.push(first.body.sha, second.body.sha);
        await call(r.app, 'PUT', `/api/v1/prompts/${encodeURIComponent(name)}/labels/production`, b, { ref: 'v1' });
      }
      for (const member of bMembers) await call(r.app, 'POST', '/api/v1/members', b, { name: member, role: 'editor' });
      const key = await call<{ key: { keyId: string } }>(r.app, 'POST', '/api/v1/keys', b, {
        name: 'b-ci',
        role: 'editor',
        user: 'beatrix',
      });
      bKeyIds.push(key.body.key.keyId, (await call<{ keyId: string }>(r.app, 'GET', '/api/v1/me', b)).body.keyId);
      const ingested = await call(r.app, 'POST', '/api/v1/ingest', b, {
        events: bTraces.map((id, i) =>
          traceEvent(id, { prompt: { name: 'b-secret-prompt', version: 1, sha: bShas[0] }, output: `${MARKER} ${i}` }),
        ),
      });
      expect(ingested.status, ingested.text).toBe(200);
      await call(r.app, 'POST', `/api/v1/traces/${bTraces[0]}/scores`, b, {
        kind: 'thumbs',
        value: 'down',
        comment: MARKER,
      });
      const opened = await call<{ id: number }>(r.app, 'POST', '/api/v1/reviews', b, {
        name: 'b-secret-prompt',
        ref: 'v2',
        label: 'production',
        message: MARKER,
      });
      expect(opened.status, opened.text).toBe(201);
      bReviews.push(opened.body.id);
      const suite = greeterSuite({ name: 'b-suite', prompt: 'b-secret-prompt' }, ['beatrix']);
      const pushedSuite = await call<{ sha: string }>(r.app, 'POST', '/api/v1/evals/suites', b, { content: suite });
      expect(pushedSuite.status, pushedSuite.text).toBe(201);
      const recorded = await call<{ id: string }>(
        r.app,
        'POST',
        '/api/v1/evals/runs',
        b,
        runInput(suite, pushedSuite.body.sha, { sha: bShas[0]!, version: 1 }, () => `${MARKER} hi beatrix`),
      );
      expect(recorded.status, recorded.text).toBe(201);
      bRuns.push(recorded.body.id);
      bAuditCount = (await call<{ entries: unknown[] }>(r.app, 'GET', '/api/v1/audit?limit=1000', b)).body.entries
        .length;

      // A has its own data, one prompt sharing a name with B's.
      let parent: string | null = null;
      for (const name of aNames) {
        const pushed: Reply<{ sha: string }> = await call(r.app, 'POST', `/api/v1/prompts/${name}/versions`, a, {
          content: textContent(name, 'project a'),
          parent,
        });
        expect(pushed.status).toBe(201);
        parent = null;
      }
      await call(r.app, 'POST', '/api/v1/members', a, { name: 'ann', role: 'viewer' });
    });
    afterAll(async () => {
      await r.close();
    });

    it("A's lists and snapshot hold nothing of B", async () => {
      for (const url of [
        '/api/v1/prompts',
        '/api/v1/audit?limit=1000',
        '/api/v1/traces?limit=500',
        `/api/v1/traces?prompt=b-secret-prompt`,
        `/api/v1/traces?sha=${bShas[0]}`,
        '/api/v1/keys',
        '/api/v1/members',
        '/api/v1/snapshot',
        `/api/v1/snapshot?names=${bNames.map(encodeURIComponent).join(',')}`,
        '/api/v1/changes?after=0',
        '/api/v1/verify',
        '/api/v1/reviews',
        '/api/v1/evals/runs',
        '/api/v1/evals/suites',
        '/api/v1/policies',
      ]) {
        const reply = await call(r.app, 'GET', url, a);
        expect(reply.status, `${url}: ${reply.text}`).toBe(200);
        expectNothingOfB(reply, '');
      }
    });

    it("B's objects named by their real names and ids are 404 to A, on every GET and write route", async () => {
      const name = encodeURIComponent('b-secret-prompt');
      const gets = [
        `/api/v1/prompts/${name}`,
        `/api/v1/prompts/${name}/versions`,
        `/api/v1/prompts/${name}/versions/v1`,
        `/api/v1/prompts/${name}/versions/production`,
        `/api/v1/prompts/${name}/versions/${bShas[0]}`,
        `/api/v1/prompts/${name}/diff?from=v1&to=v2`,
        `/api/v1/prompts/${name}/labels`,
        `/api/v1/prompts/${name}/deployments`,
        `/api/v1/prompts/${name}/metrics`,
        `/api/v1/prompts/${SHARED}/versions/${bShas[4]}`,
        `/api/v1/prompts/${SHARED}/versions/${bShas[5]!.slice(0, 12)}`,
        `/api/v1/prompts/${SHARED}/versions/v2`,
        `/api/v1/prompts/${SHARED}/diff?from=v1&to=${bShas[5]}`,
        `/api/v1/traces/${bTraces[0]}`,
        `/api/v1/keys/${bKeyIds[0]}`,
        `/api/v1/keys/${bKeyIds[1]}`,
        '/api/v1/members/beatrix',
        `/api/v1/reviews/${bReviews[0]}`,
        `/api/v1/prompts/${name}/blame`,
        `/api/v1/evals/runs/${bRuns[0]}`,
        `/api/v1/evals/runs/${bRuns[0]}/compare/${bRuns[0]}`,
        '/api/v1/evals/suites/b-suite',
        `/api/v1/prompts/${name}/gate?ref=v1&label=production&suite=b-suite`,
      ];
      for (const url of gets) expect404(await call(r.app, 'GET', url, a), url);
      const writes: [method: 'PUT' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown][] = [
        ['PUT', `/api/v1/prompts/${name}/labels/production`, { ref: 'v2' }],
        ['PUT', `/api/v1/prompts/${SHARED}/labels/production`, { ref: bShas[5] }],
        ['POST', `/api/v1/prompts/${name}/labels/production/rollback`, {}],
        ['POST', `/api/v1/traces/${bTraces[0]}/scores`, { kind: 'thumbs', value: 'up' }],
        ['POST', `/api/v1/keys/${bKeyIds[0]}/revoke`, {}],
        ['POST', `/api/v1/keys/${bKeyIds[1]}/rotate`, {}],
        ['PATCH', '/api/v1/members/beatrix', { role: 'viewer' }],
        ['DELETE', '/api/v1/members/bert'],
        ['POST', `/api/v1/reviews/${bReviews[0]}/approve`, { comment: 'looks fine' }],
        ['POST', `/api/v1/reviews/${bReviews[0]}/merge`, {}],
        ['POST', `/api/v1/reviews/${bReviews[0]}/close`, {}],
      ];
      for (const [method, url, body] of writes)
        expect404(await call(r.app, method, url, a, body), `${method} ${url} ${JSON.stringify(body)}`);
      // Nothing of B changed: its keys still work, its audit log did not move.
      expect((await call(r.app, 'GET', '/api/v1/me', b)).status).toBe(200);
      expect(
        (await call<{ entries: unknown[] }>(r.app, 'GET', '/api/v1/audit?limit=1000', b)).body.entries,
      ).toHaveLength(bAuditCount);
    });

    it('random names, refs and ids across every GET route and some writes: always 404, never any of B', async () => {
      const promptName = fc
        .oneof(
          fc.constantFrom(...bNames),
          fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,24}(\/[a-z0-9][a-z0-9_.-]{0,12})?$/),
        )
        .filter((n) => !aNames.has(n));
      const ref = fc.oneof(
        fc.constantFrom('v1', 'v2', 'production', 'latest', ...bShas, ...bShas.map((s) => s.slice(0, 7))),
        fc.integer({ min: 1, max: 9999 }).map((n) => `v${n}`),
        fc.stringMatching(/^[0-9a-f]{7,64}$/),
      );
      const traceId = fc.oneof(fc.constantFrom(...bTraces), fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/));
      const keyId = fc.oneof(fc.constantFrom(...bKeyIds), fc.stringMatching(/^[0-9a-f]{16}$/));
      // A has no change requests and no runs: any id is another project's or nobody's.
      const reviewId = fc.oneof(fc.constantFrom(...bReviews), fc.integer({ min: 1, max: 99_999 }));
      const runId = fc.oneof(fc.constantFrom(...bRuns), fc.integer({ min: 1, max: 99_999 }).map(String));
      const member = fc
        .oneof(fc.constantFrom(...bMembers), fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/))
        .filter((m) => !aMembers.has(m));

      await fc.assert(
        fc.asyncProperty(
          promptName,
          ref,
          traceId,
          keyId,
          member,
          reviewId,
          runId,
          async (name, version, trace, key, user, review, run) => {
            const n = encodeURIComponent(name);
            const v = encodeURIComponent(version);
            const gets = [
              `/api/v1/prompts/${n}`,
              `/api/v1/prompts/${n}/versions`,
              `/api/v1/prompts/${n}/versions/${v}`,
              `/api/v1/prompts/${n}/diff?from=${v}&to=v1`,
              `/api/v1/prompts/${n}/labels`,
              `/api/v1/prompts/${n}/deployments`,
              `/api/v1/prompts/${n}/metrics`,
              `/api/v1/prompts/${SHARED}/versions/${bShas.includes(version) || version === 'v2' ? v : bShas[5]}`,
              `/api/v1/traces/${encodeURIComponent(trace)}`,
              `/api/v1/keys/${key}`,
              `/api/v1/members/${encodeURIComponent(user)}`,
              `/api/v1/reviews/${review}`,
              `/api/v1/prompts/${n}/blame`,
              `/api/v1/evals/runs/${run}`,
            ];
            for (const url of gets) expect404(await call(r.app, 'GET', url, a), url);
            const writes: ['PUT' | 'POST' | 'PATCH' | 'DELETE', string, unknown?][] = [
              ['PUT', `/api/v1/prompts/${n}/labels/production`, { ref: version }],
              ['POST', `/api/v1/prompts/${n}/labels/production/rollback`, {}],
              ['POST', `/api/v1/traces/${encodeURIComponent(trace)}/scores`, { kind: 'numeric', value: 1 }],
              ['POST', `/api/v1/keys/${key}/revoke`, {}],
              ['PATCH', `/api/v1/members/${encodeURIComponent(user)}`, { role: 'admin' }],
              ['POST', `/api/v1/reviews/${review}/approve`, {}],
            ];
            for (const [method, url, body] of writes)
              expect404(await call(r.app, method, url, a, body), `${method} ${url} ${JSON.stringify(body)}`);
          },
        ),
        { numRuns: 40 },
      );
      expect(
        (await call<{ entries: unknown[] }>(r.app, 'GET', '/api/v1/audit?limit=1000', b)).body.entries,
      ).toHaveLength(bAuditCount);
    });
  });
