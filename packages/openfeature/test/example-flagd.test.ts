import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT, run } from '../../../examples/openfeature-flagd/index.js';
import { ADMIN_KEY, api, greeter, versionOf } from './support.js';
import { startTestServer, type TestServer } from '../../sdk/test/support/server.js';

/**
 * examples/openfeature-flagd runs against a real server: flagd's JSON flag definition, evaluated
 * in-process by flagd-core inside resolveLabel, sends the pro plan and acme's staff to `beta`; editing
 * the definition's default variant moves everyone else there too, without a deploy.
 */

const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

describe('examples/openfeature-flagd', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const registry = api(server.url);
    await registry.push(v17.content, null);
    await registry.push(v18.content, v17.sha);
    await registry.promote(PROMPT, 'production', 'v1');
    await registry.promote(PROMPT, 'beta', 'v2');
  });

  afterAll(async () => {
    await server?.close();
  });

  it("flagd's targeting picks the label; an edit of the definition moves callers", async () => {
    const [before, after] = await run(server.url, ADMIN_KEY, [
      { user: 'user-1', attributes: { plan: 'free' } },
      { user: 'user-2', attributes: { plan: 'pro' } },
      { user: 'user-3', attributes: { email: 'zoe@acme.example' } },
    ]);
    expect(before!.map((s) => [s.user, s.label, s.sha, s.reason])).toEqual([
      ['user-1', 'production', v17.sha, 'DEFAULT'],
      ['user-2', 'beta', v18.sha, 'TARGETING_MATCH'],
      ['user-3', 'beta', v18.sha, 'TARGETING_MATCH'],
    ]);
    expect(after!.map((s) => [s.label, s.sha])).toEqual([
      ['beta', v18.sha],
      ['beta', v18.sha],
      ['beta', v18.sha],
    ]);
  });
});
