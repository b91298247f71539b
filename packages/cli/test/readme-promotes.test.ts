import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoServer, run, tempDir } from './helpers.js';

/**
 * The README's promotions on a fresh demo work as printed: the tour's last command moves the classifier's
 * production, and "Prompts as code" promotes the scaffolded `example_greeter`. The demo's eval suite tests
 * the greeter only, and only the greeter's production is protected by review: no other prompt waits for a
 * suite that can never test it.
 */

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));

describe("the README's promotions on a fresh demo", () => {
  const demo = demoServer('readme-promotes');
  const cli = (argv: string[], cwd: string) => run(argv, { env: demo.env, cwd });

  it('tour: push the example prompts, then promote support/escalation_classifier v3 to production', async () => {
    const cwd = await tempDir();
    await cp(EXAMPLES, `${cwd}/examples`, { recursive: true });
    const push = await cli(['push', 'examples/prompts', '-m', 'from the repo'], cwd);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toContain('customer_support_greeter: unchanged v17 6504af8');
    expect(push.stdout).toContain('support/escalation_classifier: new v3 97890ba');

    const promote = await cli(
      ['promote', 'support/escalation_classifier', 'v3', '--label', 'production', '--reason', 'teams as a slot'],
      cwd,
    );
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toContain('production');
    expect(promote.stdout).toContain('v3');
  });

  it('prompts as code: init, push, then promote example_greeter v1 to production', async () => {
    const cwd = await tempDir();
    expect((await cli(['init'], cwd)).code).toBe(0);
    const push = await cli(['push', '-m', 'from CI'], cwd);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toContain('example_greeter: new v1');
    const promote = await cli(['promote', 'example_greeter', 'v1', '--label', 'production'], cwd);
    expect(promote.code, promote.stderr).toBe(0);
  });

  it("the greeter's production stays protected and gated by its suite", async () => {
    const cwd = await tempDir();
    const promote = await cli(['promote', 'customer_support_greeter', 'v17', '--label', 'production'], cwd);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain("'production' of 'customer_support_greeter' is protected");
  });
});
