import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/** An unknown prompt name gets "did you mean …?", and a hint that needs no name. */

describe.each(DIALECTS)('unknown prompt names on %s', (dialect) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    for (const name of ['customer_support_greeter', 'support/escalation_classifier', 'summarize_ticket']) {
      const pushed = await call(
        registry.app,
        'POST',
        `/api/v1/prompts/${encodeURIComponent(name)}/versions`,
        registry.keys.admin,
        {
          content: textContent(name, 'Hello'),
          parent: null,
        },
      );
      expect(pushed.status).toBe(201);
    }
  });
  afterAll(async () => {
    await registry.close();
  });

  it('suggests the close name when showing, listing labels or rolling back', async () => {
    const misspelt = encodeURIComponent('customer_suport_greeter');
    for (const [method, path] of [
      ['GET', `/api/v1/prompts/${misspelt}`],
      ['GET', `/api/v1/prompts/${misspelt}/versions`],
      ['GET', `/api/v1/prompts/${misspelt}/labels`],
      ['POST', `/api/v1/prompts/${misspelt}/labels/production/rollback`],
    ] as const) {
      const reply = await call<{ error: { code: string; fix: string; details: Record<string, unknown> } }>(
        registry.app,
        method,
        path,
        registry.keys.admin,
        method === 'POST' ? {} : undefined,
      );
      expect(reply.status, path).toBe(404);
      expect(reply.body.error.code).toBe('prompt_not_found');
      expect(reply.body.error.fix).toContain("did you mean 'customer_support_greeter'?");
      expect(reply.body.error.details).toMatchObject({ suggestions: ['customer_support_greeter'] });
      // `promptops log` needs a name: the hint must be a command that works as printed.
      expect(reply.body.error.fix).not.toMatch(/promptops log`/);
      expect(reply.body.error.fix).toContain('promptops prompts');
    }
  });

  it('finds a prompt whose folder was left out, and says so plainly when nothing is close', async () => {
    const folder = await call<{ error: { fix: string } }>(
      registry.app,
      'GET',
      '/api/v1/prompts/escalation_classifier',
      registry.keys.viewer,
    );
    expect(folder.body.error.fix).toContain("did you mean 'support/escalation_classifier'?");
    const far = await call<{ error: { fix: string; details: Record<string, unknown> } }>(
      registry.app,
      'GET',
      '/api/v1/prompts/billing_router',
      registry.keys.viewer,
    );
    expect(far.body.error.fix).not.toContain('did you mean');
    expect(far.body.error.fix).toContain('promptops prompts');
    expect(far.body.error.details).not.toHaveProperty('suggestions');
  });
});
