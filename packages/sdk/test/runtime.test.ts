import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The SDK needs only fetch and ReadableStream: loaded with every Node builtin refused (a loader hook),
 * it still imports, serves in-code defaults, starts (the server is unreachable) and closes. Uses the
 * build (`npx tsc -b packages/sdk`).
 */

const SDK_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const DENY = fileURLToPath(new URL('./support/deny-builtins.mjs', import.meta.url));

describe('runtimes without Node builtins', () => {
  it('loads, serves and closes without importing any node: module', () => {
    if (!existsSync(SDK_DIST)) throw new Error(`${SDK_DIST} is missing: build first (npx tsc -b packages/sdk)`);
    const code = `
      const { createClient } = await import(${JSON.stringify(SDK_DIST)});
      const prompts = { hello: { name: 'hello', type: 'text', template: 'Hi {{who}}', config: { model: 'm', params: {} }, variables: { who: { type: 'string', required: true } }, slots: {} } };
      const client = createClient({ url: 'http://127.0.0.1:9', apiKey: 'k', fallback: { prompts } });
      await client.ready();
      console.log(JSON.stringify(client.get('hello').toOpenAI({ who: 'Ada' })));
      await client.close();
    `;
    const result = spawnSync(process.execPath, ['--import', DENY, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.stderr).not.toContain('denied builtin');
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi Ada' }] });
  });

  it('refuses a Node-only feature with a clear error, not a crash, when the runtime lacks node:fs', () => {
    const code = `
      const { createClient } = await import(${JSON.stringify(SDK_DIST)});
      const errors = [];
      const client = createClient({ url: 'http://127.0.0.1:9', apiKey: 'k', cacheFile: '/tmp/x.json', fallback: { lockfile: 'promptops.lock' }, onError: (e) => errors.push(e.code) });
      await client.ready().catch((e) => errors.push(e.code));
      console.log(JSON.stringify(errors));
    `;
    const result = spawnSync(process.execPath, ['--import', DENY, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status, result.stderr).toBe(0);
    // The lockfile, then the cache file (read before the server: its ETag makes the request conditional).
    expect(JSON.parse(result.stdout)).toEqual([
      'unsupported_runtime',
      'unsupported_runtime',
      'server_unreachable',
      'nothing_to_serve',
    ]);
  });
});
