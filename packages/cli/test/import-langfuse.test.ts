import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@promptops/server';
import type { LangfusePrompt } from '@promptops/core';
import { DIALECTS, testDatabase } from '../../server/test/support/databases.js';
import {
  FAKE_PUBLIC_KEY,
  FAKE_SECRET_KEY,
  langfuseHistory,
  startFakeLangfuse,
  type FakeLangfuse,
} from './fake-langfuse.js';
import { run, tempDir } from './helpers.js';
import { ADMIN_KEY } from './registry.js';

/**
 * `promptops import langfuse` from a local fake Langfuse (3 prompts × 10 versions × 3 labels): promptops'
 * own Langfuse API then answers every version exactly as the source did, and a second run changes nothing.
 */

const HISTORY = langfuseHistory(3, 10);

describe.each(DIALECTS)('promptops import langfuse (%s)', (dialect) => {
  let fake: FakeLangfuse;
  let server: { url: string; close(): Promise<void> };
  let dir: string;
  const cli = (argv: string[]) =>
    run(argv, { env: { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY }, cwd: dir });
  const fromUrl = [
    'import',
    'langfuse',
    '--host',
    '',
    '--public-key',
    FAKE_PUBLIC_KEY,
    '--secret-key',
    FAKE_SECRET_KEY,
  ];

  beforeAll(async () => {
    fake = await startFakeLangfuse(HISTORY);
    fromUrl[3] = fake.url;
    dir = await tempDir('promptops-import-langfuse-');
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      db: await testDatabase(dialect),
      dataDir: join(dir, 'server-data'),
      initAdminKey: ADMIN_KEY,
      print: () => {},
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  const served = async (name: string, version: number): Promise<LangfusePrompt> => {
    const response = await fetch(`${server.url}/api/public/v2/prompts/${encodeURIComponent(name)}?version=${version}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as LangfusePrompt;
  };

  it('copies every prompt, version and label, reproducing each history exactly', async () => {
    const first = await cli([...fromUrl, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ created: 30, moved: 9, changed: true });
    for (const versions of HISTORY) {
      for (const source of versions) {
        const copy = await served(source.name, source.version);
        const { labels, ...rest } = source;
        expect(copy).toMatchObject(rest);
        expect([...copy.labels].sort()).toEqual([...labels].sort());
      }
      const log = await run(['log', versions[0]!.name, '--json'], {
        env: { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY },
        cwd: dir,
      });
      const messages = log.json<{ versions: { version: number; message: string }[] }>().versions;
      expect(messages.map((v) => v.version)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect(messages.at(-1)!.message).toContain('Langfuse-Version: 1');
      const history = await run(['labels', versions[0]!.name, '--history', '--label', 'production', '--json'], {
        env: { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: ADMIN_KEY },
        cwd: dir,
      });
      expect(history.json<{ deployments: { toVersion: number; reason: string }[] }>().deployments).toEqual([
        expect.objectContaining({ toVersion: 7, reason: 'imported from Langfuse: production on version 7' }),
      ]);
    }
  });

  it('changes nothing on a second run, from the API or from an export file, and says so', async () => {
    const again = await cli(fromUrl);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing changed: all 30 versions and their labels are already in promptops');
    await writeFile(join(dir, 'export.json'), JSON.stringify({ data: HISTORY.flat().reverse() }));
    const fromFile = await cli(['import', 'langfuse', '--file', 'export.json', '--json']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.json()).toMatchObject({ created: 0, moved: 0, changed: false });
  });

  it('refuses an export with what promptops cannot express, naming each version and field, writing nothing', async () => {
    const bad = [
      { ...HISTORY[1]![0]!, name: 'chatty', prompt: [{ type: 'placeholder', name: 'history' }] },
      { ...HISTORY[0]![0]!, name: 'Bad Name' },
    ];
    await writeFile(join(dir, 'bad.json'), JSON.stringify(bad));
    const refused = await cli(['import', 'langfuse', '--file', 'bad.json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('chatty@1: prompt[0]');
    expect(refused.stderr).toContain('Bad Name@1: name');
    const list = await cli(['prompts', '--json']);
    expect(JSON.stringify(list.json())).not.toContain('chatty');
  });
});
