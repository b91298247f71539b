import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoServer, run, tempDir, writeAt } from './helpers.js';

/**
 * The failure table of `promptops eval` shows the part of each answer that matters, wrapped to the
 * terminal rather than cut: no word is split, and a provider error is shown whole.
 */

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));
/** captureIo's terminal width. */
const COLUMNS = 120;

const flat = (text: string): string => text.replace(/\s+/g, ' ');

describe('promptops eval: the failure table', () => {
  const demo = demoServer('failure-table');

  it('shows the answer up to a whole word, wrapped within the terminal, and 100% without a space', async () => {
    const cwd = await tempDir();
    await cp(EXAMPLES, `${cwd}/examples`, { recursive: true });
    const result = await run(['eval', 'examples/evals', '--ref', 'v18'], { env: demo.env, cwd });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('0/5 passed (needs 100%)');
    const table = result.stdout.slice(result.stdout.indexOf('Failures'));
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(COLUMNS);
    // The question the answer repeats, which the old table cut after "How do I".
    expect(flat(table)).toContain(
      'expected the output to mention {{user_name}} = "Alice"; got "Hello! Thanks for your question about \\"How do I reset my password?\\".',
    );
    // Every preview ends on a whole word: the character before an ellipsis ends a word of the answer.
    for (const match of flat(table).matchAll(/(\S+)…/g)) {
      expect(match[1], match[0]).toMatch(/^(\\?"?[A-Za-z?.,!]+|…)$/);
    }
    expect(table).not.toMatch(/\baccoun…/);
  });

  it('shows a long provider error whole', async () => {
    const cwd = await tempDir();
    await writeAt(
      cwd,
      'evals/greeter-openai.eval.yaml',
      `prompt: customer_support_greeter
provider: openai:gpt-4o-mini
cases:
  - id: alice
    vars: { user_name: Alice, question: Where is my parcel? }
    assert: [{ type: mentions-var, value: user_name }]
`,
    );
    const message =
      'The model gpt-4o-mini is not available to this organization; ask an administrator of the organization to enable it in the project settings';
    const fetch: typeof globalThis.fetch = () =>
      Promise.resolve(
        new Response(JSON.stringify({ error: { message } }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        }),
      );
    const result = await run(['eval', '--ref', 'v17', '--no-cache'], {
      env: { ...demo.env, OPENAI_API_KEY: 'sk-test-not-a-key' },
      cwd,
      fetch: ((input, init) =>
        String(input instanceof Request ? input.url : input).includes('api.openai.com')
          ? fetch(input, init)
          : globalThis.fetch(input, init)) as typeof globalThis.fetch,
    });
    expect(result.code).toBe(1);
    const table = result.stdout.slice(result.stdout.indexOf('Failures'));
    expect(flat(table)).toContain(message);
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(COLUMNS);
  });
});
