import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PromptContent } from '@promptops/core';
import { startServer, type RunningServer } from '../../../server/src/index.js';
import { testDatabase } from '../../../server/test/support/databases.js';
import type { TestDialect } from '../../../server/test/support/registry.js';
import { spawnServer as spawnReplica } from '../../../server/test/support/spawn-server.js';

/** Real promptops servers for the SDK's end-to-end tests: in-process, or a child process from the build. */

export const ADMIN_KEY = 'po_sdk_test_admin_key_0123456789abcdef';

export interface TestServer {
  readonly url: string;
  readonly dbUrl: string;
  readonly server: RunningServer;
  close(): Promise<void>;
}

export const startTestServer = async (dialect: TestDialect): Promise<TestServer> => {
  const dbUrl = await testDatabase(dialect);
  const server = await startServer({
    port: 0,
    db: dbUrl,
    dataDir: mkdtempSync(join(tmpdir(), 'promptops-sdk-data-')),
    initAdminKey: ADMIN_KEY,
    print: () => undefined,
  });
  return {
    url: server.url,
    dbUrl,
    server,
    close: async () => {
      // Node's fetch opens a spare connection after a streaming response is aborted and sends nothing
      // on it; the HTTP server would wait for it until its request timeout. Tests end them at once.
      const closing = server.close();
      server.app.server.closeAllConnections();
      await closing;
    },
  };
};

/** The registry API, as an app's deploy tooling would call it. */
export const api = (url: string, key = ADMIN_KEY) => {
  const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const path = (name: string): string => `/api/v1/prompts/${encodeURIComponent(name)}`;
  return {
    call,
    push: (content: PromptContent, parent: string | null, message = 'change') =>
      call<{ sha: string; version: number }>('POST', `${path(content.name)}/versions`, { content, parent, message }),
    promote: (name: string, label: string, ref: string, reason?: string) =>
      call<{ label: { sha: string; version: number } }>('PUT', `${path(name)}/labels/${label}`, {
        ref,
        ...(reason === undefined ? {} : { reason }),
      }),
    rollback: (name: string, label = 'production', to?: string) =>
      call<{ label: { sha: string; version: number } }>(
        'POST',
        `${path(name)}/labels/${label}/rollback`,
        to === undefined ? {} : { to },
      ),
  };
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

export interface ChildServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGTERM (default) for a graceful stop, SIGKILL for a crash. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `startServer` from the build in its own process on a chosen port (so a restart comes back on the
 * same URL): the server suite's replica helper, with the SDK tests' key and a fresh data directory.
 */
export const spawnServer = async (options: { db: string; port?: number; key?: string }): Promise<ChildServer> => {
  const env = {
    PROMPTOPS_DB: options.db,
    PROMPTOPS_INIT_ADMIN_KEY: options.key ?? ADMIN_KEY,
    PROMPTOPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'promptops-sdk-child-')),
  };
  const server = await spawnReplica(env, options.port === undefined ? {} : { port: options.port });
  return { url: server.url, child: server.child, kill: (signal) => server.stop(signal) };
};

export { waitFor } from '../../../server/test/support/wait.js';

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

export const distribution = (values: readonly number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (n: number): string => `${n.toFixed(1)} ms`;
  return `n=${sorted.length} min ${f(sorted[0] ?? NaN)} p50 ${f(percentile(sorted, 50))} p90 ${f(percentile(sorted, 90))} p99 ${f(percentile(sorted, 99))} max ${f(sorted.at(-1) ?? NaN)}`;
};
