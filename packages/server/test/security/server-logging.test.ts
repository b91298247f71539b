import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/keys.js';
import { parseLogLevel } from '../../src/app/logging.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/app/start-server.js';
import { testDatabase } from '../support/databases.js';

/**
 * `promptops serve` logs warnings and errors by default as JSON lines (Fastify's pino): failed
 * authentications, and every 500 with the requestId its response returns. API keys and Authorization
 * headers are never logged, at any level.
 */

type Line = Record<string, unknown> & { level: number; msg?: string };

const servers: RunningServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const start = async (options: Partial<ServerOptions> = {}) => {
  const written: string[] = [];
  const adminKey = generateApiKey();
  const server = await startServer({
    port: 0,
    db: await testDatabase('sqlite'),
    dataDir: mkdtempSync(join(tmpdir(), 'promptops-logging-')),
    initAdminKey: adminKey,
    print: () => undefined,
    logStream: { write: (line: string) => void written.push(line) },
    ...options,
  });
  servers.push(server);
  const lines = (): Line[] =>
    written
      .join('')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const get = async (path: string, authorization?: string) => {
    const response = await fetch(`${server.url}${path}`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return {
      status: response.status,
      body: (await response.json()) as { error: { details: { requestId: string } } },
    };
  };
  return { server, written, lines, get, adminKey };
};

describe('server logging', () => {
  it('logs failed authentications and 500s by default, each 500 under the requestId it returns', async () => {
    const { server, lines, get, adminKey } = await start();
    expect((await get('/api/v1/prompts', `Bearer ${generateApiKey()}`)).status).toBe(401);
    expect(lines()).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'authentication failed', auth: 'unknown', address: '127.0.0.1' }),
    );

    server.storage.registry.listPrompts = async () => {
      throw new Error('disk on fire');
    };
    const first = await get('/api/v1/prompts', `Bearer ${adminKey}`);
    const second = await get('/api/v1/prompts', `Bearer ${adminKey}`);
    expect(first.status).toBe(500);
    const ids = [first, second].map((reply) => reply.body.error.details.requestId);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) {
      const logged = lines().filter((line) => line['requestId'] === id);
      expect(logged).toEqual([
        expect.objectContaining({
          level: 50,
          msg: 'unhandled error',
          err: expect.objectContaining({ message: 'disk on fire' }),
        }),
      ]);
    }
    // Warn by default: successful requests write nothing.
    expect(lines().every((line) => line.level >= 40)).toBe(true);
  });

  it('follows --log-level (and PROMPTOPS_LOG_LEVEL): error hides failed authentications, info shows requests', async () => {
    const quiet = await start({ logLevel: 'error' });
    expect((await quiet.get('/api/v1/prompts', `Bearer ${generateApiKey()}`)).status).toBe(401);
    expect(quiet.lines()).toEqual([]);

    const previous = process.env['PROMPTOPS_LOG_LEVEL'];
    process.env['PROMPTOPS_LOG_LEVEL'] = 'info';
    try {
      const verbose = await start();
      expect((await verbose.get('/healthz')).status).toBe(200);
      expect(verbose.lines()).toContainEqual(expect.objectContaining({ level: 30, msg: 'request completed' }));
    } finally {
      if (previous === undefined) delete process.env['PROMPTOPS_LOG_LEVEL'];
      else process.env['PROMPTOPS_LOG_LEVEL'] = previous;
    }
  });

  it('never logs an API key or an Authorization header, even at trace level', async () => {
    const { written, get, adminKey } = await start({ logLevel: 'trace' });
    const wrong = generateApiKey();
    await get('/api/v1/prompts', `Bearer ${adminKey}`);
    await get('/api/v1/prompts', `Bearer ${wrong}`);
    await get('/api/v1/prompts', `Token ${wrong}`);
    await get('/api/v1/me?x=1', `Bearer ${adminKey}`);
    const log = written.join('');
    expect(log).toContain('request completed');
    for (const secret of [adminKey, wrong]) {
      const body = secret.slice(3);
      for (let i = 0; i + 8 <= body.length; i += 4) expect(log).not.toContain(body.slice(i, i + 8));
    }
    expect(log.toLowerCase()).not.toContain('authorization');
    expect(log).not.toContain('Bearer');
  });

  it('refuses an unknown level, naming the setting and the levels', () => {
    expect(() => parseLogLevel('verbose', '--log-level')).toThrow(
      expect.objectContaining({
        code: 'invalid_log_level',
        message: expect.stringContaining('--log-level'),
        fix: expect.stringContaining('warn'),
      }),
    );
    expect(parseLogLevel(' Info ', 'PROMPTOPS_LOG_LEVEL')).toBe('info');
  });
});
