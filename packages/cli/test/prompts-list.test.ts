import { describe, expect, it } from 'vitest';
import { demoServer, run } from './helpers.js';

/** `promptops prompts` (alias `ls`) and "did you mean …?" for a mistyped name. */

describe('promptops prompts / ls (demo data)', () => {
  const demo = demoServer('prompts');
  const cli = (argv: string[]) => run(argv, { env: demo.env });

  it('lists every prompt with its head and labels, sorted by name', async () => {
    const result = await cli(['prompts']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^name\s+head\s+labels\s+updated$/);
    const greeter = lines.find((line) => line.startsWith('customer_support_greeter'));
    expect(greeter).toMatch(/customer_support_greeter\s+v18 7ba01d7\s+production v18, staging v17\s+\d{4}-/);
    const names = lines.slice(1).map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['support/escalation_classifier', 'summarize_ticket']));
    expect((await cli(['ls'])).stdout).toBe(result.stdout);
  });

  it('filters by prefix and by label, and prints JSON', async () => {
    const support = await cli(['ls', 'support/']);
    expect(support.stdout.trimEnd().split('\n').slice(1)).toEqual([
      expect.stringMatching(/^support\/escalation_classifier\s/),
    ]);
    const json = await cli(['prompts', '--label', 'staging', '--json']);
    const body = json.json<{
      prompts: { name: string; version: number; labels: Record<string, { version: number }> }[];
    }>();
    expect(body.prompts.length).toBeGreaterThan(0);
    expect(body.prompts.every((prompt) => prompt.labels['staging'] !== undefined)).toBe(true);
    expect(body.prompts.find((prompt) => prompt.name === 'customer_support_greeter')).toMatchObject({
      version: 18,
      labels: { staging: { version: 17 }, production: { version: 18 } },
    });
    const none = await cli(['ls', 'nothing/']);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no prompts start with "nothing/"');
  });

  it('a mistyped name gets "did you mean" and a command that works as printed', async () => {
    const result = await cli(['log', 'customer_suport_greeter']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("prompt 'customer_suport_greeter' does not exist");
    expect(result.stderr).toContain("fix: did you mean 'customer_support_greeter'? `promptops prompts`");
  });
});
