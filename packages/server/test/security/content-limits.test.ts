import { CONTENT_LIMITS } from '@promptops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from '../support/registry.js';
import { heapAfterGc, MB } from '../../../core/test/support-heap.js';

/**
 * One editor must not be able to exhaust the server's memory with pushes. Distinct large
 * templates, accepted and refused, through a listening server: the heap stays bounded (nothing parsed is
 * kept forever), and content past the documented caps is a 400 naming the field, the limit and the fix.
 */

const TEMPLATE_CHARACTERS = 12 * 1024;
/** Pushes per round: a quarter accepted (a parent chain), the rest refused after parsing. */
const ROUND = 400;

interface PushReply {
  readonly sha?: string;
  readonly error?: { code: string; issues: { path: string; message: string }[] };
}

const variables = {
  user_name: { type: 'string', required: true },
  items: { type: 'array', required: false },
};

describe.each(DIALECTS)('content limits on %s', (dialect) => {
  /** A distinct ~12 KB template per seed and dialect: prose with a variable or a section on every line. */
  const template = (seed: number, extra = ''): string => {
    const lines: string[] = [`Prompt ${seed} on ${dialect}.${extra}`];
    let size = lines[0]!.length;
    for (let line = 0; size < TEMPLATE_CHARACTERS; line += 1) {
      const text =
        line % 2 === 0
          ? `Rule ${seed}.${line}: greet {{user_name}} by name and answer in full sentences.`
          : `Step ${line}: {{#items}}{{name}} x{{qty}}, {{/items}}then confirm order ${seed}.`;
      lines.push(text);
      size += text.length + 1;
    }
    return lines.join('\n');
  };

  let registry: TestRegistry;
  let base: string;
  let head: string | null = null;

  let pushes = 0;
  const push = async (name: string, content: unknown, parent: string | null) => {
    // Two keys in turn: the per-key write rate limit is not what this test is about.
    const key = (pushes += 1) % 2 === 0 ? registry.keys.editor : registry.keys.admin;
    const response = await fetch(`${base}/api/v1/prompts/${name}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content, parent }),
    });
    return { status: response.status, body: (await response.json()) as PushReply };
  };

  /** One round: accepted versions of `big`, and pushes refused for an undeclared variable (parsed first). */
  const round = async (from: number): Promise<void> => {
    for (let seed = from; seed < from + ROUND; seed += 4) {
      const accepted = await push('big', textContent('big', template(seed), variables), head);
      expect(accepted.status).toBe(201);
      head = accepted.body.sha!;
      const refused = await Promise.all(
        [1, 2, 3].map((offset) =>
          push('big', textContent('big', template(seed + offset, ' {{undeclared}}'), variables), head),
        ),
      );
      for (const reply of refused) {
        expect(reply.status).toBe(400);
        expect(reply.body.error?.code).toBe('invalid_prompt');
      }
    }
  };

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    base = await registry.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('keeps the heap bounded across thousands of distinct large templates, accepted and refused', async () => {
    await round(0); // fills every bounded cache
    const before = heapAfterGc();
    await round(ROUND);
    const growth = heapAfterGc() - before;
    // The measured round pushed ~5 MB of distinct templates; remembering their parses costs far more.
    expect(growth / MB, `heap grew ${(growth / MB).toFixed(1)} MB`).toBeLessThan(16);
  }, 180_000); // 800 pushes of 12 KB: seconds on a quiet machine, far more on a busy two-core one

  it('refuses a template past the cap with 400 naming the field, the limit and the fix', async () => {
    const max = CONTENT_LIMITS.templateCharacters;
    const over = await push('capped', textContent('capped', 'x'.repeat(max + 1)), null);
    expect(over.status).toBe(400);
    expect(over.body.error?.code).toBe('invalid_prompt');
    const issue = over.body.error!.issues[0]!;
    expect(issue.path).toBe('template');
    expect(issue.message).toContain(max.toLocaleString('en-US'));
    expect(issue.message).toMatch(/variable|slot/);
    expect((await push('capped', textContent('capped', 'x'.repeat(max)), null)).status).toBe(201);
  });

  it('refuses too many messages and an oversized slot, naming each', async () => {
    const chat = {
      ...textContent('chatty', ''),
      type: 'chat',
      template: undefined,
      messages: Array.from({ length: CONTENT_LIMITS.messages + 1 }, () => ({ role: 'user', content: 'hi' })),
    };
    delete chat.template;
    const many = await push('chatty', chat, null);
    expect(many.status).toBe(400);
    expect(many.body.error?.issues[0]?.path).toBe('messages');
    const slot = await push(
      'slotty',
      { ...textContent('slotty', '{{> s}}'), slots: { s: 'y'.repeat(CONTENT_LIMITS.templateCharacters + 1) } },
      null,
    );
    expect(slot.status).toBe(400);
    expect(slot.body.error?.issues[0]?.path).toBe('slots.s');
  });
});
