import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoServer, run, tempDir } from './helpers.js';

/**
 * What the README promises of `review` on the demo: `review show 2` prints the eval check as
 * "greeter-basics 0/5", with no placeholder lines for checks that do not exist yet; a field a version adds
 * reads "(none) -> …", never JavaScript's `undefined`; re-proposing on a label that serves nothing says so.
 */

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));

describe('promptops review, as the README shows it', () => {
  const demo = demoServer('review-readme');
  const cli = (argv: string[], cwd?: string) => run(argv, { env: demo.env, ...(cwd === undefined ? {} : { cwd }) });

  it('review show 2: the eval check reads greeter-basics 0/5, and the drift check the name mentions', async () => {
    const show = await cli(['review', 'show', '2']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('0 of 1 approval');
    expect(show.stdout).toMatch(/✗ eval suites: greeter-basics 0\/5: failed \(regressed from v17: alice-password, /);
    expect(show.stdout).toMatch(
      /✓ drift: .*greeter-customers: v18 drifted: outputs mention the user's name 0 % vs 100 % of the time/,
    );
    expect(show.stdout).not.toContain('not available');
  });

  it('prints a field a version adds as (none) -> value, and a new label as serving nothing', async () => {
    const cwd = await tempDir();
    await cp(EXAMPLES, `${cwd}/examples`, { recursive: true });
    expect((await cli(['push', 'examples/prompts', '-m', 'from the repo'], cwd)).code).toBe(0);

    const opened = await cli([
      'review',
      'request',
      'support/escalation_classifier',
      'v3',
      '--label',
      'production',
      '-m',
      'teams as a slot',
    ]);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).not.toContain('undefined');
    expect(opened.stdout).toMatch(/variables\.message\.description: \(none\) -> "/);

    const canary = await cli(['review', 'request', 'support/escalation_classifier', 'v3', '--label', 'canary']);
    expect(canary.code, canary.stderr).toBe(0);
    const id = /^#(\d+) /.exec(canary.stdout)?.[1];
    expect(id).toBeDefined();
    const updated = await cli(['review', 'update', id!, 'v2']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).not.toContain('(none)');
    expect(updated.stdout).toContain(`#${id} now proposes v2 (`);
    expect(updated.stdout).toContain('canary serves nothing yet');
  });
});
