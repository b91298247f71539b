import { contentSha, type EvalGateVerdict, type EvalRunRecord, type EvalSuiteContent } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterSuite, runInput } from './support/evals.js';
import { addKey, DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

type Body = Record<string, unknown>;

const GREETER_V1 = textContent('greeter', 'Greet {{user_name}} by name, then ask what else they need.', {
  user_name: { type: 'string', required: true },
});
const GREETER_V2 = textContent('greeter', 'Greet the user, then ask what else they need. ({{user_name}})', {
  user_name: { type: 'string', required: true },
});
const GREETER_V3 = textContent('greeter', 'Say hello to {{user_name}}.', {
  user_name: { type: 'string', required: true },
});

/** Outputs that never name the user (what v18 of the demo does). */
const anonymous = (): string => 'Hello! Is there anything else I can help with?';

for (const dialect of DIALECTS) {
  describe(`eval suites, runs and the gate on ${dialect}`, () => {
    let registry: TestRegistry;
    const shas: string[] = [];
    let suiteSha = '';
    const otherKey = 'po_test_other_project_admin_0000000000';

    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key?: string) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key ?? registry.keys.admin}` },
        ...(body === undefined ? {} : { payload: body as Body }),
      });
      return { status: response.statusCode, body: response.json<Body>() };
    };
    const upload = (input: unknown, key?: string) => call('POST', '/api/v1/evals/runs', input, key);
    const gate = async (ref: string, label: string, suites: string[] = ['greeter-basics'], key?: string) => {
      const query = new URLSearchParams({ ref, label });
      for (const suite of suites) query.append('suite', suite);
      const response = await call('GET', `/api/v1/prompts/greeter/gate?${query.toString()}`, undefined, key);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as unknown as EvalGateVerdict;
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      let parent: string | null = null;
      for (const content of [GREETER_V1, GREETER_V2, GREETER_V3]) {
        const pushed = await call('POST', '/api/v1/prompts/greeter/versions', { content, parent });
        parent = pushed.body['sha'] as string;
        shas.push(parent);
      }
      // Another project, with the same prompt and suite: nothing of it may count here.
      const other = await registry.storage.transaction((tx) =>
        tx.registry.createProject('other', new Date().toISOString()),
      );
      await addKey(registry.storage, other.id, 'admin', otherKey);
    });
    afterAll(async () => {
      await registry.close();
    });

    it('pushes a suite content-addressed, idempotent, versioned per name; lists suites and versions', async () => {
      const suite = greeterSuite();
      const first = await call(
        'POST',
        '/api/v1/evals/suites',
        { content: suite, message: 'first cases' },
        registry.keys.editor,
      );
      expect(first.status).toBe(201);
      expect(first.body).toEqual({
        name: 'greeter-basics',
        prompt: 'greeter',
        sha: contentSha(suite),
        version: 1,
        created: true,
      });
      suiteSha = first.body['sha'] as string;

      // Key order does not matter: the sha is over canonical JSON.
      const reordered = Object.fromEntries(Object.entries(suite).reverse());
      const again = await call('POST', '/api/v1/evals/suites', { content: reordered });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ sha: suiteSha, version: 1, created: false });

      const bigger = greeterSuite({}, ['ana', 'bo', 'chen', 'dara']);
      const second = await call('POST', '/api/v1/evals/suites', { content: bigger });
      expect(second.body).toMatchObject({ version: 2, created: true });
      const list = await call('GET', '/api/v1/evals/suites', undefined, registry.keys.viewer);
      expect(list.body['suites']).toEqual([
        expect.objectContaining({ name: 'greeter-basics', version: 2, prompt: 'greeter', cases: 4 }),
      ]);
      const versions = await call('GET', '/api/v1/evals/suites/greeter-basics');
      const rows = versions.body['versions'] as {
        version: number;
        sha: string;
        author: string;
        content: EvalSuiteContent;
      }[];
      expect(rows.map((v) => [v.version, v.sha])).toEqual([
        [2, contentSha(bigger)],
        [1, suiteSha],
      ]);
      expect(rows[1]).toMatchObject({ author: 'key:editor', content: { cases: suite.cases } });
      expect((await call('GET', '/api/v1/evals/suites/nope')).body).toMatchObject({
        error: { code: 'suite_not_found' },
      });
      // Only the other project sees its own suites.
      expect((await call('GET', '/api/v1/evals/suites', undefined, otherKey)).body['suites']).toEqual([]);
    });

    it('concurrent pushes of one suite get distinct version numbers; the same content one version', async () => {
      const contents = [1, 2, 3, 4, 5].map((n) => greeterSuite({ name: 'race', threshold: n / 10 }));
      const results = await Promise.all(
        [...contents, contents[0]!].map((content) => call('POST', '/api/v1/evals/suites', { content })),
      );
      const versions = results.map((r) => r.body['version'] as number);
      expect(new Set(versions.slice(0, 5))).toEqual(new Set([1, 2, 3, 4, 5]));
      expect(versions[5]).toBe(versions[0]);
      expect(results.filter((r) => r.body['created'] === true)).toHaveLength(5);
    });

    it('rejects malformed suites with issues naming each field, and viewers with 403', async () => {
      const duplicate = greeterSuite({}, ['ana', 'ana']);
      const bad = await call('POST', '/api/v1/evals/suites', {
        content: { ...duplicate, passRate: 2, provider: { id: 'simulated', params: {} } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body['error']).toMatchObject({ code: 'invalid_suite' });
      const paths = ((bad.body['error'] as Body)['issues'] as { path: string }[]).map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['content.passRate', 'content.provider.model']));
      // Once the shape is right, the rules between fields: case ids are unique.
      const repeated = await call('POST', '/api/v1/evals/suites', { content: duplicate });
      expect(repeated.status).toBe(400);
      expect(((repeated.body['error'] as Body)['issues'] as { path: string }[]).map((i) => i.path)).toEqual([
        'content.cases[1].id',
      ]);
      const denied = await call('POST', '/api/v1/evals/suites', { content: greeterSuite() }, registry.keys.viewer);
      expect(denied.status).toBe(403);
    });

    it('records runs against the version sha, re-scoring cases instead of trusting the client', async () => {
      const suite = greeterSuite();
      const good = await upload(runInput(suite, suiteSha, { sha: shas[0]!, version: 1 }), registry.keys.reviewer);
      expect(good.status, JSON.stringify(good.body)).toBe(201);
      const record = good.body as unknown as EvalRunRecord;
      expect(record).toMatchObject({
        passed: true,
        recordedBy: 'key:reviewer',
        prompt: { name: 'greeter', sha: shas[0], version: 1 },
        suite: { name: 'greeter-basics', sha: suiteSha },
        summary: { total: 3, passed: 3, failed: 0, passRate: 1, inputTokens: 60, outputTokens: 30 },
      });
      expect(record.id).toMatch(/^[0-9]+$/);
      expect(record.cases.map((c) => c.output)).toEqual([
        'Hi ana! Is there anything else I can help with?',
        'Hi bo! Is there anything else I can help with?',
        'Hi chen! Is there anything else I can help with?',
      ]);

      // A client that claims every case passed while its assertions say otherwise is corrected.
      const lying = runInput(suite, suiteSha, { sha: shas[1]!, version: null }, anonymous);
      const claimed = { ...lying, cases: lying.cases.map((c) => ({ ...c, pass: true, score: 1 })) };
      const bad = await upload(claimed);
      expect(bad.status).toBe(201);
      const scored = bad.body as unknown as EvalRunRecord;
      expect(scored.passed).toBe(false);
      expect(scored.prompt.version).toBe(2);
      expect(scored.summary).toMatchObject({ passed: 0, failed: 3, passRate: 0 });
      expect(scored.cases.every((c) => !c.pass && c.score === 0.5)).toBe(true);

      const fetched = await call('GET', `/api/v1/evals/runs/${scored.id}`, undefined, registry.keys.viewer);
      expect(fetched.body).toEqual(scored);
    });

    it('refuses uploads that do not match the registry, and keys without evals:write', async () => {
      const suite = greeterSuite();
      const input = runInput(suite, suiteSha, { sha: shas[0]!, version: 1 });
      const editor = await upload(input, registry.keys.editor);
      expect(editor.status).toBe(403);
      expect(editor.body['error']).toMatchObject({ code: 'forbidden' });

      const unknownSuite = await upload({ ...input, suite: { name: 'greeter-basics', sha: 'b'.repeat(64) } });
      expect(unknownSuite.body['error']).toMatchObject({ code: 'suite_not_found' });
      expect(unknownSuite.status).toBe(404);
      const unknownVersion = await upload({
        ...input,
        prompt: { name: 'greeter', sha: 'c'.repeat(64), version: null },
      });
      expect(unknownVersion.status).toBe(404);
      expect(unknownVersion.body['error']).toMatchObject({ code: 'version_not_found' });
      const wrongNumber = await upload({ ...input, prompt: { ...input.prompt, version: 3 } });
      expect(wrongNumber.body['error']).toMatchObject({ code: 'version_mismatch' });

      const missingCase = await upload({ ...input, cases: input.cases.slice(1) });
      expect(missingCase.status).toBe(422);
      expect(missingCase.body['error']).toMatchObject({
        code: 'case_mismatch',
        details: { missing: ['greets-ana'], extra: [], duplicate: [] },
      });
      const extra = await upload({ ...input, cases: [...input.cases, { ...input.cases[0]!, id: 'greets-zed' }] });
      expect(extra.body['error']).toMatchObject({ code: 'case_mismatch', details: { extra: ['greets-zed'] } });
      const fewerAssertions = await upload({
        ...input,
        cases: input.cases.map((c) => ({ ...c, assertions: c.assertions.slice(0, 1) })),
      });
      expect(fewerAssertions.body['error']).toMatchObject({ code: 'assertion_mismatch' });
      const malformed = await upload({ ...input, startedAt: 'yesterday', cases: [{ id: '' }] });
      expect(malformed.status).toBe(400);
      const issues = ((malformed.body['error'] as Body)['issues'] as { path: string }[]).map((i) => i.path);
      expect(issues).toEqual(expect.arrayContaining(['startedAt', 'cases[0].id', 'cases[0].caseHash']));

      // Another project knows neither the suite nor the prompt version.
      const foreign = await upload(input, otherKey);
      expect(foreign.status).toBe(404);
    });

    it('runs are append-only in the database', async () => {
      await expect(registry.storage.rawSql('UPDATE eval_runs SET passed = 1')).rejects.toThrow(/append-only/);
      await expect(registry.storage.rawSql('DELETE FROM eval_run_cases')).rejects.toThrow(/append-only/);
      await expect(registry.storage.rawSql('UPDATE eval_suites SET prompt = 1')).rejects.toThrow(/append-only/);
    });

    it('lists runs newest first with filters, and compares two runs case by case', async () => {
      const all = await call('GET', '/api/v1/evals/runs?prompt=greeter&suite=greeter-basics');
      const runs = all.body['runs'] as { id: string; prompt: { sha: string }; passed: boolean }[];
      expect(runs.map((r) => r.passed)).toEqual([false, true]);
      expect(runs[0]).not.toHaveProperty('cases');
      const bySha = await call('GET', `/api/v1/evals/runs?sha=${shas[0]!.slice(0, 8)}`);
      expect((bySha.body['runs'] as { id: string }[]).map((r) => r.id)).toEqual([runs[1]!.id]);
      const paged = await call('GET', '/api/v1/evals/runs?limit=1');
      expect(paged.body['nextBefore']).toBe(runs[0]!.id);
      expect((await call('GET', `/api/v1/evals/runs?before=${runs[0]!.id}`)).body['runs']).toHaveLength(1);

      const compared = await call('GET', `/api/v1/evals/runs/${runs[0]!.id}/compare/${runs[1]!.id}`);
      expect(compared.body).toMatchObject({
        regressions: ['greets-ana', 'greets-bo', 'greets-chen'],
        fixes: [],
        base: { id: runs[1]!.id, passed: true },
        candidate: { id: runs[0]!.id, passed: false },
      });
      expect((await call('GET', `/api/v1/evals/runs/999999`)).status).toBe(404);
      // Run ids of one project are not found from another.
      expect((await call('GET', `/api/v1/evals/runs/${runs[0]!.id}`, undefined, otherKey)).status).toBe(404);
      expect(
        (await call('GET', `/api/v1/evals/runs/${runs[0]!.id}/compare/${runs[1]!.id}`, undefined, otherKey)).status,
      ).toBe(404);
    });

    it('gate: missing, then passed, failed and regressed, naming the cases and the suite sha it used', async () => {
      // The newest suite version (v2, four cases) has no run yet: older runs do not count for it.
      const stale = await gate('v1', 'production');
      expect(stale.passed).toBe(false);
      expect(stale.against).toEqual({ label: 'production', sha: null });
      expect(stale.suites[0]).toMatchObject({ status: 'missing', runId: null, suiteSha: expect.any(String) });
      expect(stale.suites[0]!.message).toContain('used an older version of the suite');
      const unknown = await gate('v1', 'production', ['no-such-suite']);
      expect(unknown.suites[0]).toMatchObject({ status: 'missing', suiteSha: null });

      const suite = greeterSuite({}, ['ana', 'bo', 'chen', 'dara']);
      const newest = contentSha(suite);
      expect((await upload(runInput(suite, newest, { sha: shas[0]!, version: 1 }))).status).toBe(201);

      // A label with no current sha: nothing to regress from.
      const fresh = await gate('v1', 'production');
      expect(fresh).toMatchObject({ passed: true, sha: shas[0], against: { label: 'production', sha: null } });
      expect(fresh.suites[0]).toMatchObject({ status: 'passed', suiteSha: newest, passRate: 1, required: 1 });

      expect((await call('PUT', '/api/v1/prompts/greeter/labels/production', { ref: 'v1' })).status).toBe(200);

      // v2 never names the user: every case fails, and every case passed on production's v1.
      const v2run = await upload(runInput(suite, newest, { sha: shas[1]!, version: 2 }, anonymous));
      const failed = await gate('v2', 'production');
      expect(failed.passed).toBe(false);
      expect(failed.against).toEqual({ label: 'production', sha: shas[0] });
      const ids = ['greets-ana', 'greets-bo', 'greets-chen', 'greets-dara'];
      expect(failed.suites[0]).toMatchObject({
        status: 'failed',
        runId: v2run.body['id'],
        passRate: 0,
        failedCases: ids,
        regressedCases: ids,
      });
      expect(failed.suites[0]!.message).toContain('below the required 100%');
      expect(failed.suites[0]!.message).toContain(`regressed from production`);
      expect(failed.suites[0]!.message).toContain('greets-ana, greets-bo, greets-chen, greets-dara');

      // With a lower required rate the pass rate is enough, but the regressed cases still fail the gate.
      const lenient = { ...suite, passRate: 0.5 };
      const lenientSha = contentSha(lenient);
      expect((await call('POST', '/api/v1/evals/suites', { content: lenient })).status).toBe(201);
      await upload(runInput(lenient, lenientSha, { sha: shas[0]!, version: 1 }));
      await upload(
        runInput(lenient, lenientSha, { sha: shas[2]!, version: 3 }, (vars, id) =>
          id === 'greets-bo' ? anonymous() : `Hi ${String(vars['user_name'])}! Anything else?`,
        ),
      );
      const regressed = await gate('v3', 'production');
      expect(regressed.suites[0]).toMatchObject({
        status: 'regressed',
        suiteSha: lenientSha,
        passRate: 0.75,
        required: 0.5,
        failedCases: ['greets-bo'],
        regressedCases: ['greets-bo'],
      });
      expect(regressed.suites[0]!.message).toMatch(/regressed from production .*: greets-bo$/);

      // Several suites: the verdict passes only when every one does.
      const both = await gate('v1', 'production', ['greeter-basics', 'no-such-suite']);
      expect(both.suites.map((s) => s.status)).toEqual(['passed', 'missing']);
      expect(both.passed).toBe(false);
      // Viewers may read the gate; a bad request names the field.
      expect((await gate('v1', 'production', ['greeter-basics'], registry.keys.viewer)).passed).toBe(true);
      expect((await call('GET', '/api/v1/prompts/greeter/gate?ref=v1&label=production')).status).toBe(400);
      expect((await call('GET', '/api/v1/prompts/greeter/gate?ref=v9&label=production&suite=x')).status).toBe(404);
    });

    it("gate: another project's runs never count", async () => {
      // The other project registers the same prompt and suite and records a passing run on v3's sha.
      await call('POST', '/api/v1/prompts/greeter/versions', { content: GREETER_V3, parent: null }, otherKey);
      const suite = { ...greeterSuite({}, ['ana', 'bo', 'chen', 'dara']), passRate: 0.5 };
      await call('POST', '/api/v1/evals/suites', { content: suite }, otherKey);
      const theirs = await upload(runInput(suite, contentSha(suite), { sha: shas[2]!, version: 1 }), otherKey);
      expect(theirs.status).toBe(201);
      const ours = await gate('v3', 'production');
      expect(ours.suites[0]!.runId).not.toBe(theirs.body['id']);
      expect(ours.suites[0]!.status).toBe('regressed');
      const theirGate = await call(
        'GET',
        `/api/v1/prompts/greeter/gate?ref=v1&label=production&suite=greeter-basics`,
        undefined,
        otherKey,
      );
      expect((theirGate.body as unknown as EvalGateVerdict).suites[0]).toMatchObject({
        status: 'passed',
        runId: theirs.body['id'],
      });
    });
  });

  describe(`a direct promote to a label whose policy requires suites runs the eval gate on ${dialect}`, () => {
    let registry: TestRegistry;
    const shas: string[] = [];
    let suiteSha = '';
    const CASES = ['greets-ana', 'greets-bo', 'greets-chen'];

    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, key?: string) => {
      const response = await registry.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key ?? registry.keys.admin}` },
        ...(body === undefined ? {} : { payload: body as Body }),
      });
      return { status: response.statusCode, body: response.json<Body>() };
    };
    const promote = (ref: string) =>
      call('PUT', '/api/v1/prompts/greeter/labels/staging', { ref }, registry.keys.deployer);
    const record = async (version: number, output?: (vars: Record<string, unknown>, id: string) => string) => {
      const sha = shas[version - 1]!;
      const uploaded = await call(
        'POST',
        '/api/v1/evals/runs',
        runInput(greeterSuite(), suiteSha, { sha, version }, output),
        registry.keys.reviewer,
      );
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      return uploaded.body as unknown as EvalRunRecord;
    };
    const refusal = (response: { status: number; body: Body }) => {
      expect(response.status, JSON.stringify(response.body)).toBe(409);
      const error = response.body['error'] as { code: string; message: string; fix: string; details: Body };
      expect(error.code).toBe('eval_gate_failed');
      expect(error.fix).toContain('promptops rollback greeter --label staging');
      return { message: error.message, evals: error.details['evals'] as EvalGateVerdict };
    };
    const stagingSha = async (): Promise<string> => {
      const labels = await call('GET', '/api/v1/prompts/greeter/labels');
      return (labels.body['labels'] as { label: string; sha: string }[]).find((l) => l.label === 'staging')!.sha;
    };

    beforeAll(async () => {
      registry = await openTestRegistry(dialect);
      let parent: string | null = null;
      for (const content of [GREETER_V1, GREETER_V2, GREETER_V3]) {
        const pushed = await call('POST', '/api/v1/prompts/greeter/versions', { content, parent });
        parent = pushed.body['sha'] as string;
        shas.push(parent);
      }
      suiteSha = (await call('POST', '/api/v1/evals/suites', { content: greeterSuite() })).body['sha'] as string;
      // Staging serves v1 before any policy; then it requires greeter-basics, without needing a review.
      expect((await promote('v1')).status).toBe(200);
      const policy = await call('PUT', '/api/v1/policies/staging', {
        protected: false,
        suites: [{ suite: 'greeter-basics' }],
      });
      expect(policy.status, JSON.stringify(policy.body)).toBe(200);
      expect(policy.body['policy']).toMatchObject({ protected: false, suites: [{ suite: 'greeter-basics' }] });
    });
    afterAll(async () => {
      await registry.close();
    });

    it('refuses without a run and with a failing one, naming the cases; allows a passing run; never blocks a rollback', async () => {
      // No run of greeter-basics on v2: refused, the label untouched.
      const missing = refusal(await promote('v2'));
      expect(missing.message).toContain("'staging' of 'greeter' requires passing eval suites");
      expect(missing.message).toContain('has no recorded run on greeter');
      expect(missing.evals).toMatchObject({
        passed: false,
        sha: shas[1],
        against: { label: 'staging', sha: shas[0] },
        suites: [{ suite: 'greeter-basics', status: 'missing', runId: null }],
      });
      expect(await stagingSha()).toBe(shas[0]);

      // A failing run on v2: refused, naming every failing case.
      const failing = await record(2, anonymous);
      const failed = refusal(await promote('v2'));
      expect(failed.message).toContain(`failed cases: ${CASES.join(', ')}`);
      expect(failed.evals.suites[0]).toMatchObject({
        status: 'failed',
        runId: failing.id,
        failedCases: CASES,
        regressedCases: [], // staging's v1 has no run: nothing to regress from
      });
      expect(await stagingSha()).toBe(shas[0]);

      // The newer, passing run on v2 is what the gate reads: the promote goes through as a plain promote.
      const passing = await record(2);
      const allowed = await promote('v2');
      expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
      expect(allowed.body['deployment']).toMatchObject({ kind: 'promote', toVersion: 2, fromVersion: 1 });
      expect(await stagingSha()).toBe(shas[1]);
      const gate = await call(
        'GET',
        `/api/v1/prompts/greeter/gate?ref=v2&label=staging&suite=greeter-basics`,
        undefined,
        registry.keys.viewer,
      );
      expect((gate.body as unknown as EvalGateVerdict).suites[0]).toMatchObject({
        status: 'passed',
        runId: passing.id,
      });

      // v3 fails every case that passed on staging's v2: refused as regressed from staging.
      await record(3, anonymous);
      const regressed = refusal(await promote('v3'));
      expect(regressed.message).toContain(
        `regressed from staging (${shas[1]!.slice(0, 7)}, run #${passing.id}): ${CASES.join(', ')}`,
      );
      expect(regressed.evals.suites[0]).toMatchObject({ failedCases: CASES, regressedCases: CASES });

      // Rolling back to v1, which never passed the suite, is not gated: recovery is one call.
      const rollback = await call(
        'POST',
        '/api/v1/prompts/greeter/labels/staging/rollback',
        { reason: 'back to the last known state' },
        registry.keys.deployer,
      );
      expect(rollback.status, JSON.stringify(rollback.body)).toBe(200);
      expect(rollback.body['deployment']).toMatchObject({ kind: 'rollback', toVersion: 1 });
      expect(await stagingSha()).toBe(shas[0]);

      // Promoting what the label already serves changes nothing and is not refused.
      const same = await promote('v1');
      expect(same.status).toBe(200);
      expect(same.body['changed']).toBe(false);
    });
  });
}
