import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabase } from '../../server/test/support/databases.js';
import { run, tempDir } from './helpers.js';

/**
 * `promptops serve --log-level/--trust-proxy/--write-rate-limit` and their environment variables: bad
 * values are usage errors naming their source, logs are JSON lines on stderr, and a key past the write
 * limit gets a clear message from the CLI.
 */

const FAQ = 'template: "Answer briefly: {{question}}"\nvariables: { question: string }\n';

/** Runs `serve` until aborted; resolves with its URL once it listens. */
const serve = async (dir: string, args: string[], env: Record<string, string> = {}) => {
  const controller = new AbortController();
  let announced: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => (announced = resolve));
  let seen = '';
  const serving = run(['serve', '--port', '0', '--db', await testDatabase('sqlite'), ...args], {
    cwd: dir,
    env,
    signal: controller.signal,
    onStdout: (text) => {
      seen += text;
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) announced(match[1]!);
    },
  });
  const url = await Promise.race([
    listening,
    serving.then((r) => Promise.reject(new Error(`serve exited ${r.code}: ${r.stderr}`))),
  ]);
  return {
    url,
    stop: async () => {
      controller.abort();
      return serving;
    },
  };
};

describe('promptops serve options', () => {
  it('refuses a bad --trust-proxy, --write-rate-limit or log level with a usage error naming its source', async () => {
    const dir = await tempDir('promptops-cli-serve-options-');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--trust-proxy', '10.0.0.300'], {}, /--trust-proxy "10\.0\.0\.300"/],
      [['--write-rate-limit', 'lots'], {}, /--write-rate-limit must be a whole number/],
      [['--log-level', 'loud'], {}, /--log-level "loud" is not a log level/],
      [[], { PROMPTOPS_LOG_LEVEL: 'loud' }, /PROMPTOPS_LOG_LEVEL "loud"/],
      [[], { PROMPTOPS_TRUST_PROXY: 'proxy.internal' }, /PROMPTOPS_TRUST_PROXY/],
    ];
    for (const [args, env, message] of cases) {
      const result = await run(['serve', '--port', '0', '--db', `sqlite:${join(dir, 'bad.db')}`, ...args], {
        cwd: dir,
        env,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/fix: /);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('logs JSON lines on stderr at --log-level, and past --write-rate-limit push says to wait', async () => {
    const dir = await tempDir('promptops-cli-serve-options-');
    const server = await serve(dir, ['--write-rate-limit', '2', '--log-level', 'info']);
    let result;
    try {
      for (const name of ['a', 'b', 'c']) await writeFile(join(dir, `${name}.prompt.yaml`), FAQ);
      result = await run(['push', 'a.prompt.yaml', 'b.prompt.yaml', 'c.prompt.yaml'], { cwd: dir, env: {} });
    } finally {
      const served = await server.stop();
      const lines = served.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'request completed' }));
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'write refused', limit: 'writes' }));
      await rm(dir, { recursive: true, force: true });
    }
    expect(result.code).toBe(1);
    const output = `${result.stdout}${result.stderr}`;
    expect(output).toContain('too many writes with this key: at most 2 per 60 s');
    expect(output).toMatch(/fix: wait [0-9]+ s, then retry/);
  });

  it('reads PROMPTOPS_WRITE_RATE_LIMIT and PROMPTOPS_TRUST_PROXY', async () => {
    const dir = await tempDir('promptops-cli-serve-options-');
    const server = await serve(dir, ['--log-level', 'silent'], {
      PROMPTOPS_WRITE_RATE_LIMIT: '1',
      PROMPTOPS_TRUST_PROXY: '127.0.0.1',
    });
    try {
      await writeFile(join(dir, 'a.prompt.yaml'), FAQ);
      await writeFile(join(dir, 'b.prompt.yaml'), FAQ);
      expect((await run(['push', 'a.prompt.yaml'], { cwd: dir, env: {} })).code).toBe(0);
      const refused = await run(['push', 'b.prompt.yaml', '--json'], { cwd: dir, env: {} });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('too_many_writes');
      // The server trusts the loopback proxy: the limiter sees the forwarded client, not 127.0.0.1.
      const failures = Array.from({ length: 20 }, (_, i) =>
        fetch(`${server.url}/api/v1/prompts`, {
          headers: { authorization: `Bearer po_wrong_key_${i}_0000000000000000`, 'x-forwarded-for': '203.0.113.9' },
        }).then((response) => response.status),
      );
      expect(new Set(await Promise.all(failures))).toEqual(new Set([401]));
      const blocked = await fetch(`${server.url}/api/v1/prompts`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(blocked.status).toBe(429);
      const other = await fetch(`${server.url}/api/v1/prompts`, { headers: { 'x-forwarded-for': '203.0.113.10' } });
      expect(other.status).toBe(401);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
