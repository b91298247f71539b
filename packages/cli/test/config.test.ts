import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_URL, readCredentials, resolveConfig, sameServer } from '../src/config.js';
import { tempDir } from './helpers.js';

const FILE_KEY = 'po_from_file_0123456789abcdef0123456789';

const writeCredentials = async (dir: string, data: unknown): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'credentials.json'), typeof data === 'string' ? data : JSON.stringify(data), {
    mode: 0o600,
  });
};

describe('resolveConfig', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir();
  });

  it('defaults to the local server and no key', async () => {
    const config = await resolveConfig({}, {}, cwd);
    expect(config).toMatchObject({ url: DEFAULT_URL, urlSource: 'default', apiKey: undefined });
    expect(config.credentialsPath).toBe(join(cwd, '.promptops', 'credentials.json'));
  });

  it('reads url and key from .promptops/credentials.json in the working directory', async () => {
    await writeCredentials(join(cwd, '.promptops'), {
      url: 'http://127.0.0.1:5000',
      apiKey: FILE_KEY,
      project: 'default',
    });
    const config = await resolveConfig({}, {}, cwd);
    expect(config).toMatchObject({
      url: 'http://127.0.0.1:5000',
      urlSource: 'credentials',
      apiKey: FILE_KEY,
      apiKeySource: 'credentials',
    });
  });

  it('prefers env over the credentials file, and flags over env', async () => {
    await writeCredentials(join(cwd, '.promptops'), { url: 'http://127.0.0.1:5000', apiKey: FILE_KEY });
    const env = { PROMPTOPS_URL: 'http://127.0.0.1:6000/', PROMPTOPS_API_KEY: 'po_env' };
    expect(await resolveConfig({}, env, cwd)).toMatchObject({
      url: 'http://127.0.0.1:6000',
      urlSource: 'env',
      apiKey: 'po_env',
      apiKeySource: 'env',
    });
    expect(await resolveConfig({ url: 'https://registry.example.com', apiKey: 'po_flag' }, env, cwd)).toMatchObject({
      url: 'https://registry.example.com',
      urlSource: 'flag',
      apiKey: 'po_flag',
      apiKeySource: 'flag',
    });
  });

  it("ranks promptops.yaml's url below flag and env, above the credentials file", async () => {
    await writeCredentials(join(cwd, '.promptops'), { url: 'http://127.0.0.1:4680', apiKey: FILE_KEY });
    const project = 'http://127.0.0.1:4680';
    const env = { PROMPTOPS_URL: 'http://127.0.0.1:6000' };
    expect(await resolveConfig({ url: 'http://127.0.0.1:7000' }, env, cwd, project)).toMatchObject({
      urlSource: 'flag',
    });
    expect(await resolveConfig({}, env, cwd, project)).toMatchObject({ urlSource: 'env' });
    // Same server as the credentials file: its key applies.
    expect(await resolveConfig({}, {}, cwd, project)).toMatchObject({
      url: project,
      urlSource: 'config',
      apiKey: FILE_KEY,
    });
    // Another server: the file's key is not sent there.
    const elsewhere = await resolveConfig({}, {}, cwd, 'https://prompts.example.com');
    expect(elsewhere).toMatchObject({ urlSource: 'config', apiKey: undefined });
    expect(elsewhere.credentialsUrlMismatch).toBe('http://127.0.0.1:4680');
  });

  it('treats empty env values as unset', async () => {
    const config = await resolveConfig({}, { PROMPTOPS_URL: '', PROMPTOPS_API_KEY: '' }, cwd);
    expect(config).toMatchObject({ url: DEFAULT_URL, apiKey: undefined });
  });

  it('uses --data-dir, then PROMPTOPS_DATA_DIR, to find the credentials file', async () => {
    await writeCredentials(join(cwd, 'flag-dir'), { url: 'http://127.0.0.1:7001', apiKey: 'po_flagdir' });
    await writeCredentials(join(cwd, 'env-dir'), { url: 'http://127.0.0.1:7002', apiKey: 'po_envdir' });
    const env = { PROMPTOPS_DATA_DIR: 'env-dir' };
    expect(await resolveConfig({}, env, cwd)).toMatchObject({ apiKey: 'po_envdir' });
    expect(await resolveConfig({ dataDir: 'flag-dir' }, env, cwd)).toMatchObject({ apiKey: 'po_flagdir' });
  });

  it('never sends the credentials-file key to another server', async () => {
    await writeCredentials(join(cwd, '.promptops'), { url: 'http://127.0.0.1:4680', apiKey: FILE_KEY });
    const other = await resolveConfig({ url: 'https://elsewhere.example.com' }, {}, cwd);
    expect(other.apiKey).toBeUndefined();
    expect(other.credentialsUrlMismatch).toBe('http://127.0.0.1:4680');
    // Loopback spellings are one server.
    const local = await resolveConfig({ url: 'http://localhost:4680' }, {}, cwd);
    expect(local.apiKey).toBe(FILE_KEY);
  });

  it('rejects a URL that is not http(s) as a usage error', async () => {
    await expect(resolveConfig({ url: 'ftp://x' }, {}, cwd)).rejects.toMatchObject({ code: 'invalid_url' });
    await expect(resolveConfig({ url: 'not a url' }, {}, cwd)).rejects.toMatchObject({ code: 'invalid_url' });
  });

  it('reports a broken credentials file with a fix', async () => {
    await writeCredentials(join(cwd, '.promptops'), '{ not json');
    await expect(resolveConfig({}, {}, cwd)).rejects.toMatchObject({
      code: 'invalid_credentials',
      fix: expect.stringContaining('apiKey'),
    });
    // Not read at all when flags and env already say everything.
    await expect(resolveConfig({ url: DEFAULT_URL, apiKey: 'po_x' }, {}, cwd)).resolves.toMatchObject({
      apiKey: 'po_x',
    });
  });

  it('treats a missing credentials file as absent', async () => {
    expect(await readCredentials(join(cwd, 'nope', 'credentials.json'))).toBeUndefined();
  });
});

describe('sameServer', () => {
  it('matches scheme, host and port, with loopback aliases', () => {
    expect(sameServer('http://127.0.0.1:4680', 'http://localhost:4680')).toBe(true);
    expect(sameServer('http://127.0.0.1:4680', 'http://127.0.0.1:4681')).toBe(false);
    expect(sameServer('http://127.0.0.1:4680', 'https://127.0.0.1:4680')).toBe(false);
  });
});
