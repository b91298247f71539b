import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMPT, run } from '../../../examples/openfeature/index.js';
import { ADMIN_KEY, api, greeter, versionOf } from './support.js';
import { startTestServer, type TestServer } from '../../sdk/test/support/server.js';

/**
 * examples/openfeature runs against a real server: switching the flag in OpenFeature's in-memory
 * provider moves callers from `production` to `beta` without a deploy, and each request's span carries
 * `feature_flag.*` and the prompt's sha.
 */

const v17 = versionOf(greeter(17), 1);
const v18 = versionOf(greeter(18), 2);

describe('examples/openfeature', () => {
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

  it('a flag switch moves callers between labels; spans show feature_flag.* and the sha', async () => {
    const [before, after] = await run(server.url, ADMIN_KEY, ['user-1', 'user-2']);
    expect(before!.map((s) => [s.label, s.sha])).toEqual([
      ['production', v17.sha],
      ['production', v17.sha],
    ]);
    expect(after!.map((s) => [s.label, s.sha])).toEqual([
      ['beta', v18.sha],
      ['beta', v18.sha],
    ]);
    expect(after![0]!.span).toMatchObject({
      'feature_flag.key': `prompt:${PROMPT}`,
      'feature_flag.provider.name': 'promptops',
      'feature_flag.result.variant': 'v2',
      'feature_flag.result.reason': 'static',
      'feature_flag.version': v18.sha,
      'feature_flag.context.id': 'user-1',
      'promptops.prompt.name': PROMPT,
      'promptops.prompt.sha': v18.sha,
      'promptops.prompt.version': 2,
    });
  });
});
