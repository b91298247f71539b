import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PromptopsError } from '@promptops/core';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/**
 * Where the server is and which key to use. Precedence: flag > environment > `promptops.yaml` (the URL
 * only; keys never live in a committed file) > the credentials file that `promptops serve` writes
 * (`.promptops/credentials.json`) > the default URL.
 */

export const DEFAULT_URL = 'http://127.0.0.1:4680';
export const DEFAULT_DATA_DIR = '.promptops';
export const CREDENTIALS_FILE = 'credentials.json';

export interface GlobalFlags {
  readonly url?: string | undefined;
  readonly apiKey?: string | undefined;
  readonly dataDir?: string | undefined;
  /** `--config PATH`: the project config file (default `promptops.yaml` in the working directory). */
  readonly config?: string | undefined;
}

export interface Credentials {
  readonly url?: string;
  readonly apiKey?: string;
  readonly project?: string;
}

export type ConfigSource = 'flag' | 'env' | 'config' | 'credentials' | 'default';

export interface ResolvedConfig {
  /** Base URL without a trailing slash. */
  readonly url: string;
  readonly urlSource: ConfigSource;
  readonly apiKey: string | undefined;
  readonly apiKeySource: ConfigSource | undefined;
  readonly credentialsPath: string;
  /** The credentials file's URL when its key was not used because it belongs to another server. */
  readonly credentialsUrlMismatch?: string;
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

export const dataDirOf = (flags: GlobalFlags, env: CliIo['env'], cwd: string): string =>
  resolve(cwd, nonEmpty(flags.dataDir) ?? nonEmpty(env.PROMPTOPS_DATA_DIR) ?? DEFAULT_DATA_DIR);

export const credentialsPathOf = (flags: GlobalFlags, env: CliIo['env'], cwd: string): string =>
  join(dataDirOf(flags, env, cwd), CREDENTIALS_FILE);

/** Reads the credentials file; a missing file is not an error, a broken one is. */
export const readCredentials = async (path: string): Promise<Credentials | undefined> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PromptopsError('invalid', 'invalid_credentials', `cannot read ${path}: ${(error as Error).message}`, {
      fix: 'check the file permissions, or pass --api-key / set PROMPTOPS_API_KEY',
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const record = data as Record<string, unknown> | null | undefined;
  const valid =
    typeof record === 'object' &&
    record !== null &&
    !Array.isArray(record) &&
    ['url', 'apiKey', 'project'].every((key) => record[key] === undefined || typeof record[key] === 'string');
  if (!valid) {
    throw new PromptopsError('invalid', 'invalid_credentials', `${path} is not a valid credentials file`, {
      fix: 'it should be JSON like { "url": "http://127.0.0.1:4680", "apiKey": "po_…" }; delete it and restart `promptops serve` to rewrite it',
    });
  }
  return {
    ...(typeof record.url === 'string' ? { url: record.url } : {}),
    ...(typeof record.apiKey === 'string' ? { apiKey: record.apiKey } : {}),
    ...(typeof record.project === 'string' ? { project: record.project } : {}),
  };
};

export const normalizeUrl = (text: string): string => {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError('invalid_url', `"${text}" is not an http(s) URL`, {
      fix: `use a URL like ${DEFAULT_URL}`,
    });
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
};

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Same server? Loopback spellings count as one host, so `localhost` matches the `127.0.0.1` the server writes. */
export const sameServer = (a: string, b: string): boolean => {
  const x = new URL(a);
  const y = new URL(b);
  const host = (u: URL): string => (LOOPBACK.has(u.hostname) ? 'loopback' : u.hostname);
  return x.protocol === y.protocol && host(x) === host(y) && x.port === y.port;
};

/**
 * Resolves URL and key. The credentials file's key is used only for the server it was written for,
 * so pointing `--url` elsewhere never sends the local admin key to another host.
 */
export const resolveConfig = async (
  flags: GlobalFlags,
  env: CliIo['env'],
  cwd: string,
  /** The URL from `promptops.yaml`, when it has one. */
  projectUrl?: string,
): Promise<ResolvedConfig> => {
  const credentialsPath = credentialsPathOf(flags, env, cwd);
  const flagUrl = nonEmpty(flags.url);
  const envUrl = nonEmpty(env.PROMPTOPS_URL);
  const configUrl = nonEmpty(projectUrl);
  const flagKey = nonEmpty(flags.apiKey);
  const envKey = nonEmpty(env.PROMPTOPS_API_KEY);

  // The file is read only when something is still missing.
  const needFile = (flagUrl ?? envUrl ?? configUrl) === undefined || (flagKey ?? envKey) === undefined;
  const credentials = needFile ? await readCredentials(credentialsPath) : undefined;
  const fileUrl = nonEmpty(credentials?.url);

  const [url, urlSource]: [string, ConfigSource] =
    flagUrl !== undefined
      ? [flagUrl, 'flag']
      : envUrl !== undefined
        ? [envUrl, 'env']
        : configUrl !== undefined
          ? [configUrl, 'config']
          : fileUrl !== undefined
            ? [fileUrl, 'credentials']
            : [DEFAULT_URL, 'default'];
  const normalized = normalizeUrl(url);

  const fileKey = nonEmpty(credentials?.apiKey);
  const fileKeyApplies =
    fileKey !== undefined && (fileUrl === undefined || sameServer(normalizeUrl(fileUrl), normalized));
  const [apiKey, apiKeySource]: [string | undefined, ConfigSource | undefined] =
    flagKey !== undefined
      ? [flagKey, 'flag']
      : envKey !== undefined
        ? [envKey, 'env']
        : fileKeyApplies
          ? [fileKey, 'credentials']
          : [undefined, undefined];

  const mismatch = fileKey !== undefined && !fileKeyApplies && apiKey === undefined ? fileUrl : undefined;
  return {
    url: normalized,
    urlSource,
    apiKey,
    apiKeySource,
    credentialsPath,
    ...(mismatch === undefined ? {} : { credentialsUrlMismatch: mismatch }),
  };
};
