import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@promptops/server';
import type { BlameResult, ChangeRequestSummary, ChangeRequestView, DeploymentRecord } from '@promptops/core';
import { run, tempDir } from './helpers.js';

/**
 * Review gates from the command line, against the demo: production is protected, v18 got there by break
 * glass, and change request #2 (v18) waits for an approval. Recovery stays one command.
 */

const ADMIN_KEY = 'po_review_admin_key_0123456789abcdef0123';
const GREETER = 'customer_support_greeter';

describe('promptops policy / review / blame (demo data)', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let env: Record<string, string>;
  const cli = (argv: string[]) => run(argv, { env });

  beforeAll(async () => {
    const dir = await tempDir('promptops-cli-review-');
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      demo: true,
      dataDir: join(dir, 'data'),
      initAdminKey: ADMIN_KEY,
      print: () => {},
    });
    env = { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY };
  });
  afterAll(async () => {
    await server.close();
  });

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
    expect(deployments.slice(0, 2)).toMatchObject([
      { kind: 'break-glass', actor: 'dave', toVersion: 18 },
      { kind: 'merge', actor: 'bob', toVersion: 17, changeRequest: 1 },
    ]);
    const human = await cli(['labels', GREETER, '--history', '--label', 'production']);
    expect(human.stdout).toContain('merge #1');
  });

  it('refuses a direct promote to production, allows the rollback, and merges the request once approved', async () => {
    const promote = await cli(['promote', GREETER, 'v17', '--label', 'production']);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain(`promptops review request ${GREETER} v17 --label production`);

    const rollback = await cli(['rollback', GREETER, '--reason', 'customers are not greeted by name']);
    expect(rollback.code, rollback.stderr).toBe(0);

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

    const approve = await cli(['review', 'approve', '2', '-m', 'fine after all', '--json']);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.json<ChangeRequestView>()).toMatchObject({ mergeable: true });
    const merge = await cli(['review', 'merge', '2']);
    expect(merge.code, merge.stderr).toBe(0);
    expect(merge.stdout).toContain('#2 merged');
    const again = await cli(['review', 'merge', '2', '--json']);
    expect(again.code).toBe(1);
    expect(again.json<{ error: { code: string } }>().error.code).toBe('not_open');
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
    expect(list.stdout).toMatch(/production\s+\*\s+protected: 1 approval/);
    expect((await cli(['review', 'show', 'abc'])).code).toBe(2);
  });
});
