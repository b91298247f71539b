import { describe, expect, it } from 'vitest';
import type {
  BlameResult,
  ChangeRequestSummary,
  ChangeRequestView,
  DeploymentRecord,
  EvalGateVerdict,
} from '@promptops/core';
import { demoServer, run } from './helpers.js';

/**
 * Review gates from the command line, against the demo: the greeter's production is protected and
 * requires the eval suite greeter-basics, v18 got there by break glass, and change request #2 (v18) waits for an approval
 * that is not enough: v18 fails the suite. Recovery stays one command.
 */

const GREETER = 'customer_support_greeter';
/** The cases of the demo's eval suite greeter-basics: v18 fails every one (it no longer greets by name). */
const CASES = ['alice-password', 'bob-refund', 'chen-shipping', 'dana-invoice', 'emeka-account'];

describe('promptops policy / review / blame (demo data)', () => {
  const demo = demoServer('review');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('shows the open change request for v18: the one-line diff, a pending approval and the break glass', async () => {
    const list = await cli(['review', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const { changeRequests } = list.json<{ changeRequests: ChangeRequestSummary[] }>();
    expect(changeRequests).toEqual([expect.objectContaining({ id: 2, name: GREETER, version: 18, author: 'dave' })]);

    const show = await cli(['review', 'show', '2']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('-Always greet the user by name.');
    expect(show.stdout).toMatch(
      /approvals: 0 of 1 approval \(may approve: any reviewer or above, not the author \(dave\)\)/,
    );
    expect(show.stdout).toContain('FORCED (break glass) by dave');
    expect(show.stdout).toContain('not mergeable yet');

    const history = await cli(['labels', GREETER, '--history', '--label', 'production', '--json']);
    const { deployments } = history.json<{ deployments: DeploymentRecord[] }>();
    // dave forced v18 twice: the incident's monitor caught the first and rolled it back (demo/incidents.ts).
    expect(deployments.slice(0, 4)).toMatchObject([
      { kind: 'break-glass', actor: 'dave', toVersion: 18 },
      { kind: 'auto-rollback', toVersion: 17 },
      { kind: 'break-glass', actor: 'dave', toVersion: 18 },
      { kind: 'merge', actor: 'bob', toVersion: 17, changeRequest: 1 },
    ]);
    const human = await cli(['labels', GREETER, '--history', '--label', 'production']);
    expect(human.stdout).toContain('merge #1');
  });

  it('refuses a direct promote to production, allows the rollback; the eval gate keeps v18 out even once approved', async () => {
    const promote = await cli(['promote', GREETER, 'v17', '--label', 'production']);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain(`promptops review request ${GREETER} v17 --label production`);
    expect(promote.stderr).not.toContain('eval gate'); // v17 passes greeter-basics: only the review is missing

    const rollback = await cli(['rollback', GREETER, '--reason', 'customers are not greeted by name']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain('rolled back production: v18 (7ba01d7) -> v17 (6504af8)');

    // Production serves v17 again: promoting v18 directly is refused for the review and for the eval gate.
    const direct = await cli(['promote', GREETER, 'v18', '--label', 'production', '--json']);
    expect(direct.code).toBe(1);
    const refusal = direct.json<{ error: { code: string; message: string; details: { evals: EvalGateVerdict } } }>();
    expect(refusal.error.code).toBe('label_protected');
    expect(refusal.error.message).toContain(
      `its eval gate also fails: suite 'greeter-basics' v1 (7845c3f) run #2: 0/5 cases passed (0%); below the required 100%; failed cases: ${CASES.join(', ')}; regressed from production (6504af8, run #1): ${CASES.join(', ')}`,
    );
    expect(refusal.error.details.evals).toMatchObject({
      passed: false,
      suites: [{ suite: 'greeter-basics', status: 'failed', failedCases: CASES, regressedCases: CASES }],
    });

    const blame = await cli(['blame', GREETER, '--json']);
    expect(blame.code, blame.stderr).toBe(0);
    const lines = blame.json<BlameResult>().lines;
    expect(lines.find((l) => l.text === 'Always greet the user by name.')).toMatchObject({
      version: 4,
      author: 'alice',
      message: { index: 0, role: 'system' },
      deployedBy: { kind: 'promote', actor: 'alice' },
    });
    const blameText = await cli(['blame', GREETER]);
    expect(blameText.stdout).toMatch(/v4\s+\S+\s+alice.*\[0 system\]\s+Always greet the user by name\./);

    // The approval is there, the label still serves the request's base, but the eval check fails.
    const approve = await cli(['review', 'approve', '2', '-m', 'fine after all', '--json']);
    expect(approve.code, approve.stderr).toBe(0);
    const approved = approve.json<ChangeRequestView>();
    expect(approved.mergeable).toBe(false);
    expect(approved.checks.approvals.status).toBe('passed');
    expect(approved.checks.base.status).toBe('passed');
    expect(approved.checks.evals).toMatchObject({
      status: 'failed',
      message:
        'greeter-basics 0/5: failed (regressed from v17: alice-password, bob-refund, chen-shipping, dana-invoice, emeka-account) (failing for tenants acme, globex)',
      verdict: {
        passed: false,
        against: { label: 'production', sha: expect.stringMatching(/^6504af8/) },
        suites: [{ suite: 'greeter-basics', status: 'failed', regressedCases: CASES }],
      },
    });
    const show = await cli(['review', 'show', '2']);
    expect(show.stdout).toMatch(/✗ eval suites: greeter-basics 0\/5: failed/);
    expect(show.stdout).toContain('not mergeable yet');

    const merge = await cli(['review', 'merge', '2']);
    expect(merge.code).toBe(1);
    expect(merge.stderr).toContain(
      'change request #2 cannot be merged yet: evals: greeter-basics 0/5: failed (regressed from v17: alice-password, bob-refund, chen-shipping, dana-invoice, emeka-account)',
    );
    const mergeJson = await cli(['review', 'merge', '2', '--json']);
    expect(mergeJson.code).toBe(1);
    const mergeError = mergeJson.json<{
      error: { code: string; details: { checks: ChangeRequestView['checks'] } };
    }>().error;
    expect(mergeError.code).toBe('checks_failed');
    expect(mergeError.details.checks.evals.verdict?.suites[0]).toMatchObject({ regressedCases: CASES });
    // Production still serves v17: the last move is the rollback.
    const history = await cli(['labels', GREETER, '--history', '--label', 'production', '--json']);
    expect(history.json<{ deployments: DeploymentRecord[] }>().deployments[0]).toMatchObject({
      kind: 'rollback',
      toVersion: 17,
    });

    // Break glass still moves it (an admin, with a reason), skipping the gate as it skips review.
    const forced = await cli([
      'promote',
      GREETER,
      'v18',
      '--label',
      'production',
      '--force',
      '--reason',
      'incident drill',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    const after = await cli(['labels', GREETER, '--history', '--label', 'production', '--json']);
    expect(after.json<{ deployments: DeploymentRecord[] }>().deployments[0]).toMatchObject({
      kind: 'break-glass',
      actor: 'key:admin',
      toVersion: 18,
    });
  });

  it('sets and shows policies, owners and teams; a bad id is a usage error', async () => {
    const set = await cli([
      'policy',
      'set',
      'staging',
      '--approvals',
      '2',
      '--suite',
      'greeter-basics:0.9',
      '--owners',
      'support',
      '--json',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json<{ policy: unknown }>().policy).toMatchObject({
      label: 'staging',
      approvals: 2,
      owners: ['support'],
      suites: [{ suite: 'greeter-basics', passRate: 0.9 }],
    });
    expect((await cli(['teams', 'set', 'support', 'alice', 'carol'])).stdout).toContain('support: alice, carol');
    expect((await cli(['owners', 'set', 'support/**', 'support'])).code).toBe(0);
    const show = await cli(['policy', 'show', 'staging', '--prompt', GREETER]);
    expect(show.stdout).toContain('protected: 2 approvals by reviewer+ among owners support');
    const list = await cli(['policy', 'list']);
    expect(list.stdout).toMatch(/production\s+customer_support_greeter\s+protected: 1 approval/);
    expect((await cli(['review', 'show', 'abc'])).code).toBe(2);
  });
});
