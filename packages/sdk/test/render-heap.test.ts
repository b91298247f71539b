import { describe, expect, it } from 'vitest';
import { ResolvedPrompt, type PromptContent } from '../src/index.js';
import { heapAfterGc, MB } from '../../core/test/support-heap.js';

/**
 * Rendering thousands of distinct large templates (a long-running app whose prompts keep changing)
 * keeps the heap bounded: no parse is remembered forever. Measured after forced collections, once the
 * bounded caches are warm, so only growth that stays proportional to what was rendered can fail it.
 */

const TEMPLATE_CHARACTERS = 8 * 1024;
const ROUND = 600;

/** A distinct ~8 KB template: prose with a variable or a section every line, like a long system prompt. */
const template = (seed: number): string => {
  const lines: string[] = [`Prompt ${seed}.`];
  let size = lines[0]!.length;
  for (let line = 0; size < TEMPLATE_CHARACTERS; line += 1) {
    const text =
      line % 3 === 0
        ? `Rule ${seed}.${line}: address {{user_name}} politely and answer the question in full sentences.`
        : `Step ${line} for ${seed}: {{#items}}{{name}} ({{qty}}), {{/items}}then confirm the order.`;
    lines.push(text);
    size += text.length + 1;
  }
  return lines.join('\n');
};

const render = (seed: number): number => {
  const content: PromptContent = {
    name: 'long',
    type: 'chat',
    messages: [
      { role: 'system', content: template(seed) },
      { role: 'user', content: `{{question}} #${seed}` },
    ],
    config: { params: {} },
    variables: {
      user_name: { type: 'string', required: true },
      items: { type: 'array', required: false, default: [] },
      question: { type: 'string', required: true },
    },
    slots: {},
  };
  const prompt = new ResolvedPrompt('long', seed, 'f'.repeat(64), 'production', 'base', 'snapshot', null, content);
  const rendered = prompt.render({
    user_name: 'Ada',
    question: 'Where is my order?',
    items: [{ name: 'tea', qty: 2 }],
  });
  return rendered.type === 'chat' ? rendered.messages[0]!.content.length : 0;
};

describe('SDK render heap', () => {
  it('stays bounded across thousands of distinct large templates', () => {
    let rendered = 0;
    // Warm-up: fills every bounded cache and settles the JIT.
    for (let seed = 0; seed < ROUND; seed += 1) rendered += render(seed);
    const before = heapAfterGc();
    for (let seed = ROUND; seed < 2 * ROUND; seed += 1) rendered += render(seed);
    const growth = heapAfterGc() - before;
    expect(rendered).toBeGreaterThan(ROUND * TEMPLATE_CHARACTERS);
    // The measured round rendered ~5 MB of distinct templates; keeping their parses costs several times that.
    expect(growth / MB, `heap grew ${(growth / MB).toFixed(1)} MB`).toBeLessThan(8);
  }, 120_000); // CPU-bound: seconds on a quiet machine, more on a busy two-core one
});
