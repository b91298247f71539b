import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabase } from '../../server/test/support/databases.js';
import { run, tempDir } from './helpers.js';

/**
 * `promptops serve --gateway-config FILE` (and PROMPTOPS_GATEWAY_CONFIG): the gateway's upstreams from a
 * JSON or YAML file; a file that cannot be read or is not a gateway config refuses the start, naming the
 * file and the field.
 */

describe('promptops serve --gateway-config', () => {
  it('refuses a missing or invalid config, naming the file and the field', async () => {
    const dir = await tempDir('promptops-cli-serve-gateway-');
    await writeFile(join(dir, 'typo.yaml'), 'providers:\n  openai:\n    baseUrl: https://api.openai.com/v1\n');
    await writeFile(join(dir, 'nourl.json'), '{"providers": {"local": {"baseURL": "localhost:8000"}}}');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--gateway-config', join(dir, 'missing.yaml')], {}, /missing\.yaml cannot be read \(ENOENT\)/],
      [['--gateway-config', join(dir, 'typo.yaml')], {}, /providers\.openai\.baseUrl: unknown field "baseUrl"/],
      [[], { PROMPTOPS_GATEWAY_CONFIG: join(dir, 'nourl.json') }, /providers\.local\.baseURL: must be an http/],
    ];
    for (const [args, env, message] of cases) {
      const result = await run(['serve', '--port', '0', '--db', await testDatabase('sqlite'), ...args], {
        cwd: dir,
        env,
      });
      expect(result.code, result.stderr).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/fix: /);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the gateway with the configured providers', async () => {
    const dir = await tempDir('promptops-cli-serve-gateway-');
    await writeFile(
      join(dir, 'gateway.yaml'),
      'providers:\n  openai:\n    baseURL: https://api.openai.com/v1/\n    apiKeyEnv: OPENAI_API_KEY\n',
    );
    const controller = new AbortController();
    let seen = '';
    let announced: (line: string) => void = () => {};
    const line = new Promise<string>((resolve) => (announced = resolve));
    const serving = run(
      ['serve', '--port', '0', '--db', await testDatabase('sqlite'), '--gateway-config', join(dir, 'gateway.yaml')],
      {
        cwd: dir,
        signal: controller.signal,
        onStdout: (text) => {
          seen += text;
          const match = /gateway: POST \S+ \(providers: [^)]*\)/.exec(seen);
          if (match) announced(match[0]);
        },
      },
    );
    const printed = await Promise.race([
      line,
      serving.then((r) => Promise.reject(new Error(`serve exited ${r.code}: ${r.stderr}`))),
    ]);
    expect(printed).toMatch(
      /^gateway: POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions \(providers: openai, simulated\)$/,
    );
    controller.abort();
    expect((await serving).code).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });
});
