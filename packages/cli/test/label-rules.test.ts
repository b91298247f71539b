import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir, writeAt, type RunOptions } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * `promptops label-rules NAME -l LABEL --set FILE|--clear` (a label's own targeting rules, no rollout) and
 * `promptops resolve NAME --context` explaining a label rule's decision, against a real server.
 */

const FAQ = (line: string): string => `template: "${line} {{question}}"\nvariables: { question: string }\n`;

const RULES = [
  { name: 'pro plan', when: [{ attribute: 'plan', op: 'equals', values: ['pro'] }], serve: { version: 2 } },
  { when: [{ attribute: 'tenant', op: 'in', values: ['globex'] }], serve: { label: 'beta' } },
];

describe('promptops label-rules and resolve (real server)', () => {
  let registry: Registry;
  let dir: string;
  const cli = (argv: string[], options: RunOptions = {}) => run(argv, { env: registry.env, cwd: dir, ...options });

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await tempDir('promptops-cli-label-rules-');
    for (const line of ['Answer briefly:', 'Answer briefly and kindly:', 'Answer in one line:']) {
      await writeAt(dir, 'prompts/faq.prompt.yaml', FAQ(line));
      expect((await cli(['push', '-m', line])).code).toBe(0);
    }
    expect((await cli(['promote', 'faq', 'v1', '--label', 'production'])).code).toBe(0);
    expect((await cli(['promote', 'faq', 'v3', '--label', 'beta'])).code).toBe(0);
    await writeAt(dir, 'rules.json', JSON.stringify({ rules: RULES }));
    await writeAt(dir, 'bad.json', JSON.stringify([{ when: [], serve: { arm: 'candidate' } }]));
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('refuses a bad file before calling the server (exit 2), naming the field', async () => {
    const bad = await cli(['label-rules', 'faq', '--set', 'bad.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('rules[0].serve');
  });

  it('sets, shows and explains them; clears them', async () => {
    const set = await cli(['label-rules', 'faq', '-l', 'production', '--set', 'rules.json']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('set the rules of faq@production');
    expect(set.stdout).toContain('1. "pro plan": plan equals "pro" → v2');
    expect(set.stdout).toContain('2. tenant in [globex] → label beta');
    const shown = await cli(['label-rules', 'faq', '--json']);
    expect(shown.json<{ rules: { serve: { version?: number; sha?: string } }[] }>().rules[0]!.serve.version).toBe(2);

    const pro = await cli(['resolve', 'faq', '--context', '{"plan":"pro"}']);
    expect(pro.code, pro.stderr).toBe(0);
    expect(pro.stdout).toContain('faq@production → v2');
    expect(pro.stdout).toContain('a rule on the label matched');
    expect(pro.stdout).toContain('label rule 1: "pro plan"');
    const globex = await cli(['resolve', 'faq', '--context', '{"tenant":"globex"}', '--json']);
    expect(globex.json<{ cause: string; resolution: { version: number } }>()).toMatchObject({
      cause: 'label_rule',
      resolution: { version: 3 },
    });
    const other = await cli(['resolve', 'faq', '--context', '{"plan":"free"}']);
    expect(other.stdout).toContain('faq@production → v1');

    const cleared = await cli(['label-rules', 'faq', '--clear']);
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toContain("no rules: the label's version serves everyone");
    expect((await cli(['resolve', 'faq', '--context', '{"plan":"pro"}'])).stdout).toContain('→ v1');
  });
});
