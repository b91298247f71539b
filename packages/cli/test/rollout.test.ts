import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutDetail, RolloutView } from '@promptops/core';
import { fakeFetch, run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/** `promptops rollout …` against a real server: start, list, status, show, pause, resume, advance, abort. */

const FAQ = (line: string): string => `template: "${line} {{question}}"\nvariables: { question: string }\n`;

describe('promptops rollout (real server)', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-rollout-');
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Answer briefly:'));
    expect((await cli(['push', '-m', 'first'])).code).toBe(0);
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Answer briefly and kindly:'));
    expect((await cli(['push', '-m', 'kinder'])).code).toBe(0);
    expect((await cli(['promote', 'faq', 'v1', '--label', 'production'])).code).toBe(0);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('starts a split rollout with its plan, lists it, shows it (no figures yet) and walks it to completion', async () => {
    const started = await cli([
      'rollout',
      'start',
      'faq',
      'v2',
      '--label',
      'production',
      '--steps',
      '10,50,100',
      '--min-samples',
      '20',
      '--step-duration',
      '5m',
      '--guardrail',
      'error_rate:+0.05',
      'latency:+200',
      '--json',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const rollout = started.json<RolloutView>();
    expect(rollout).toMatchObject({
      name: 'faq',
      label: 'production',
      mode: 'split',
      state: 'running',
      ramp: 10,
      steps: [10, 50, 100],
      candidate: { version: 2 },
      config: {
        minSamplesPerArm: 20,
        minStepDurationMs: 300_000,
        guardrails: [
          { metric: 'error_rate', threshold: 0.05 },
          { metric: 'latency', threshold: 200 },
        ],
      },
    });
    expect(rollout.id).toMatch(/^ro_[a-z2-7]{12}$/);

    const again = await cli(['rollout', 'start', 'faq', 'v2', '--label', 'production']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already has an active rollout (${rollout.id})`);
    expect(again.stderr).toContain(`promptops rollout abort ${rollout.id}`);

    const list = await cli(['rollout', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${rollout.id}\\s+faq\\s+production\\s+split\\s+running\\s+10 %\\s+v2`));

    const show = await cli(['rollout', 'show', rollout.id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`${rollout.id} faq production split [running] 10 % (step 1 of 3)`);
    expect(show.stdout).toContain('steps 10, 50, 100 %; each at least 5m and 20 samples per arm');
    expect(show.stdout).toContain('ramp [10] → 50 → 100 %');
    expect(show.stdout).toContain('no figures yet');
    expect(show.stdout).toMatch(/start\s+key:admin/);

    // A prompt name finds its label's active rollout.
    const paused = await cli(['rollout', 'pause', 'faq', '--reason', 'looking at the logs']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain(`paused ${rollout.id} faq production split [paused] 10 %`);
    const pausedAgain = await cli(['rollout', 'pause', rollout.id]);
    expect(pausedAgain.code).toBe(1);
    expect(pausedAgain.stderr).toMatch(/it is paused/);

    const status = await cli(['rollout', 'status', 'faq', '--json']);
    expect(status.json<{ rollout: RolloutView; latest: { action: string; reason: string } }>()).toMatchObject({
      rollout: { id: rollout.id, state: 'paused', ramp: 10 },
      latest: { action: 'pause', reason: 'looking at the logs' },
    });

    expect((await cli(['rollout', 'resume', rollout.id])).code).toBe(0);
    const advanced = await cli(['rollout', 'advance', rollout.id, '--json']);
    expect(advanced.json<RolloutView>()).toMatchObject({ state: 'running', ramp: 50, stepIndex: 1 });
    const completed = await cli(['rollout', 'advance', rollout.id]);
    expect(completed.code, completed.stderr).toBe(0);
    expect(completed.stdout).toContain('production now serves v2');

    const detail = (await cli(['rollout', 'show', 'faq', '--json'])).json<RolloutDetail>();
    expect(detail.rollout.state).toBe('completed');
    expect(detail.decisions.map((d) => d.action)).toEqual(['start', 'pause', 'resume', 'manual-advance', 'complete']);
    const human = await cli(['rollout', 'show', rollout.id]);
    expect(human.stdout).toMatch(/100 %\s+completed \(complete by key:admin\)/);

    const labels = await cli(['labels', 'faq', '--history', '--label', 'production', '--json']);
    expect(labels.json<{ deployments: { kind: string; toVersion: number }[] }>().deployments[0]).toMatchObject({
      kind: 'rollout',
      toVersion: 2,
    });
  });

  it('a shadow rollout, aborted with its reason; nothing left to act on after', async () => {
    const started = await cli(['rollout', 'start', 'faq', 'v1', '-l', 'production', '--mode', 'shadow']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('production keeps answering; the candidate runs on a copy of 1 % of its calls');
    const aborted = await cli(['rollout', 'abort', 'faq', '-m', 'enough seen']);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toMatch(/aborted ro_[a-z2-7]{12} faq production shadow \[aborted\]/);
    const none = await cli(['rollout', 'abort', 'faq']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("'production' of 'faq' has no active rollout");
    const show = await cli(['rollout', 'show', 'faq']);
    expect(show.stdout).toContain('reason: enough seen');
    expect(show.stdout).toContain('shadow pairs');
    const shadows = (await cli(['rollout', 'list', '--state', 'aborted', '--json'])).json<{
      rollouts: RolloutView[];
    }>();
    expect(shadows.rollouts.map((r) => r.mode)).toEqual(['shadow']);
  });

  it('usage errors exit 2, refusals exit 1, every command has --help', async () => {
    const bad = [
      ['rollout', 'start', 'faq', 'v2', '-l', 'production', '--steps', '5,1'],
      ['rollout', 'start', 'faq', 'v2', '-l', 'production', '--steps', 'a,b'],
      ['rollout', 'start', 'faq', 'v2', '-l', 'production', '--guardrail', 'error_rate:-0.02'],
      ['rollout', 'start', 'faq', 'v2', '-l', 'production', '--step-duration', 'soon'],
      ['rollout', 'start', 'faq', 'v2', '-l', 'production', '--mode', 'canary'],
      ['rollout', 'start', 'faq', 'v2'],
      ['rollout', 'list', '--state', 'maybe'],
      ['rollout', 'show'],
    ];
    for (const argv of bad) expect((await cli(argv)).code, argv.join(' ')).toBe(2);
    const guard = await cli(['rollout', 'start', 'faq', 'v2', '-l', 'production', '--guardrail', 'error_rate:-0.02']);
    expect(guard.stderr).toContain('higher is worse');
    const steps = await cli(['rollout', 'start', 'faq', 'v2', '-l', 'production', '--steps', '5,1', '--json']);
    expect(steps.json<{ error: { message: string } }>().error.message).toContain('steps only go up');

    const same = await cli(['rollout', 'start', 'faq', 'v2', '-l', 'production']);
    expect(same.code).toBe(1);
    expect(same.stderr).toContain("the candidate v2 is what 'production' already serves");
    const missing = await cli(['rollout', 'show', 'ro_aaaaaaaaaaaa']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no rollout ro_aaaaaaaaaaaa');

    for (const sub of ['start', 'list', 'status', 'show', 'pause', 'resume', 'advance', 'abort']) {
      const help = await cli(['rollout', sub, '--help']);
      expect(help.code, sub).toBe(0);
      expect(help.stdout, sub).toContain(`Usage: promptops rollout ${sub}`);
    }
  });

  it('review request --rollout proposes a split on a protected label; merging starts it', async () => {
    await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ('Answer briefly, kindly and clearly:'));
    expect((await cli(['push', '-m', 'clearer'])).code).toBe(0);
    expect((await cli(['policy', 'set', 'production', '--approvals', '1'])).code).toBe(0);
    const direct = await cli(['rollout', 'start', 'faq', 'v3', '-l', 'production']);
    expect(direct.code).toBe(1);
    expect(direct.stderr).toContain('a split rollout serves users, so it needs an approved change request');

    expect((await cli(['review', 'request', 'faq', 'v3', '-l', 'production', '--steps', '10,100'])).code).toBe(2);
    const opened = await cli([
      'review',
      'request',
      'faq',
      'v3',
      '-l',
      'production',
      '-m',
      'clearer answers, on a share of users first',
      '--rollout',
      'split',
      '--steps',
      '10,100',
      '--guardrail',
      'error_rate:+0.05',
    ]);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain('merging starts a split rollout of v3 on production');
    expect(opened.stdout).toContain('steps 10, 100 %');
    const id = /#(\d+)/.exec(opened.stdout)![1]!;

    const key = (await cli(['keys', 'create', 'rita', '--role', 'reviewer', '--json'])).json<{ secret: string }>();
    const approved = await run(['review', 'approve', id], {
      env: { ...registry.env, PROMPTOPS_API_KEY: key.secret },
      cwd: dir,
    });
    expect(approved.code, approved.stderr).toBe(0);
    const merged = await cli(['review', 'merge', id, '--json']);
    expect(merged.code, merged.stderr).toBe(0);
    const rolloutId = merged.json<{ rollout: { rolloutId: string } }>().rollout.rolloutId;
    expect((await cli(['review', 'show', id])).stdout).toContain(`merged: started rollout ${rolloutId}`);
    const status = await cli(['rollout', 'status', 'faq']);
    expect(status.stdout).toContain(`${rolloutId} faq production split [running] 10 % (step 1 of 2)`);
    expect(status.stdout).toContain(`change request #${id}: clearer answers, on a share of users first`);
  });

  it('show prints per-arm figures with intervals, guardrail verdicts and the shadow pairs that differ most', async () => {
    const at = '2025-06-01T10:00:00.000Z';
    const detail: RolloutDetail = {
      rollout: {
        id: 'ro_abcdefghijkl',
        name: 'customer_support_greeter',
        label: 'production',
        mode: 'shadow',
        state: 'aborted',
        ramp: 0,
        stepIndex: 0,
        steps: [100],
        stepStartedAt: at,
        baselineSha: 'a'.repeat(64),
        candidate: { sha: 'b'.repeat(64), version: 18 },
        salt: 'ro_abcdefghijkl',
        config: {
          mode: 'shadow',
          steps: [100],
          minStepDurationMs: 3_600_000,
          minSamplesPerArm: 50,
          guardrails: [{ metric: 'assertion_pass_rate', threshold: -0.02 }],
          alpha: 0.05,
          sequentialTuning: 5000,
        },
        reason: 'assertion_pass_rate failed',
        createdBy: 'alice',
        createdAt: at,
        updatedAt: at,
        endedAt: '2025-06-01T11:00:00.000Z',
      },
      decisions: [
        { id: 1, at, action: 'start', actor: 'alice', reason: 'try v18 in shadow', figures: null },
        {
          id: 2,
          at: '2025-06-01T11:00:00.000Z',
          action: 'abort',
          actor: 'system:rollouts',
          reason: 'assertion_pass_rate failed',
          figures: null,
        },
      ],
      arms: {
        baseline: {
          requests: 120,
          units: 80,
          metrics: { error_rate: { count: 120, value: 0.025, lower: 0.011, upper: 0.04 } },
        },
        candidate: {
          requests: 120,
          units: null,
          metrics: { error_rate: { count: 120, value: 0.05, lower: 0.03, upper: 0.08 } },
        },
      },
      guardrails: [
        {
          metric: 'assertion_pass_rate',
          threshold: -0.02,
          worse: 'lower',
          status: 'fail',
          baseline: { count: 120, value: 1 },
          candidate: { count: 120, value: 0.05 },
          difference: { estimate: -0.95, lower: -0.99, upper: -0.9, standardError: 0.02 },
          alpha: 0.05,
          reason: 'worse',
        },
      ],
      shadow: {
        pairs: 120,
        assertions: { baseline: { passed: 120, total: 120 }, candidate: { passed: 6, total: 120 } },
        length: { baseline: { mean: 212.4 }, candidate: { mean: 180 } },
        differing: [
          {
            traceId: 'tr-1',
            shadowTraceId: 'tr-1-shadow',
            at,
            baseline: { output: 'Hello Alice! To reset your password…', length: 40, passed: true },
            candidate: { output: 'To reset your password…', length: 30, passed: false },
            difference: 0.42,
          },
        ],
      },
    };
    const env = { PROMPTOPS_URL: 'http://127.0.0.1:9', PROMPTOPS_API_KEY: 'po_fake_key_0123456789abcdef' };
    const shown = await run(['rollout', 'show', 'ro_abcdefghijkl'], { env, fetch: fakeFetch(200, detail) });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/baseline\s+120\s+80/);
    expect(shown.stdout).toMatch(/candidate\s+120\s+–/);
    expect(shown.stdout).toMatch(/error_rate\s+2.5 % \[1.1 %, 4.0 %\]\s+5.0 % \[3.0 %, 8.0 %\]/);
    expect(shown.stdout).toMatch(
      /✗ assertion_pass_rate\s+-0.02\s+100.0 % \(n=120\)\s+5.0 % \(n=120\)\s+-0.95 \[-0.99, -0.9\]\s+fail/,
    );
    expect(shown.stdout).toContain('120 pairs');
    expect(shown.stdout).toContain('live assertions passed: baseline 100.0 % (120/120), candidate 5.0 % (6/120)');
    expect(shown.stdout).toContain('mean output length: baseline 212, candidate 180 characters');
    expect(shown.stdout).toMatch(/tr-1\s+0.42\s+Hello Alice! To reset your password…\s+To reset your password…/);
    expect(shown.stdout).toMatch(/0 %\s+aborted \(abort by system:rollouts\)/);
    expect(shown.stdout).not.toContain('no figures yet');
  });
});
