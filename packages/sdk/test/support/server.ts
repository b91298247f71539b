import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PromptContent } from '@promptops/core';
import { startServer, type RunningServer } from '../../../server/src/index.js';
import { freshDbUrl, type TestDialect } from '../../../server/test/support/registry.js';

/** Real promptops servers for the SDK's end-to-end tests: in-process, or a child process from the build. */

export const ADMIN_KEY = 'po_sdk_test_admin_key_0123456789abcdef';

export interface TestServer {
  readonly url: string;
  readonly dbUrl: string;
  readonly server: RunningServer;
  close(): Promise<void>;
}

export const startTestServer = async (dialect: TestDialect): Promise<TestServer> => {
  const db = await freshDbUrl(dialect);
  const server = await startServer({
    port: 0,
    db: db.url,
    dataDir: mkdtempSync(join(tmpdir(), 'promptops-sdk-data-')),
    initAdminKey: ADMIN_KEY,
    print: () => undefined,
  });
  return {
    url: server.url,
    dbUrl: db.url,
    server,
    close: async () => {
      // Node's fetch opens a spare connection after a streaming response is aborted and sends nothing
      // on it; the HTTP server would wait for it until its request timeout. Tests end them at once.
      const closing = server.close();
      server.app.server.closeAllConnections();
      await closing;
      db.cleanup();
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

const SERVER_DIST = fileURLToPath(new URL('../../../server/dist/index.js', import.meta.url));

export interface ChildServer {
  readonly url: string;
  readonly child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `startServer` from the build in its own process on a chosen port (so a restart comes back on the
 * same URL). Build first: `npx tsc -b packages/server` (`npm test` does).
 */
export const spawnServer = async (options: { db: string; port?: number; key?: string }): Promise<ChildServer> => {
  if (!existsSync(SERVER_DIST)) throw new Error(`${SERVER_DIST} is missing: build first (npx tsc -b packages/server)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'promptops-sdk-child-'));
  const code = `
    const { startServer } = await import(${JSON.stringify(SERVER_DIST)});
    const server = await startServer({ port: ${options.port ?? 0}, log: 'quiet', db: ${JSON.stringify(options.db)}, dataDir: ${JSON.stringify(dataDir)}, initAdminKey: ${JSON.stringify(options.key ?? ADMIN_KEY)} });
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${exitCode}:\n${output}`));
    });
  });
  return {
    url,
    child,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
};

/** Polls `check` until it holds or the deadline passes (then throws with `what`). */
export const waitFor = async (check: () => boolean, what: string, timeoutMs = 10_000, everyMs = 5): Promise<number> => {
  const started = performance.now();
  for (;;) {
    if (check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

export const distribution = (values: readonly number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (n: number): string => `${n.toFixed(1)} ms`;
  return `n=${sorted.length} min ${f(sorted[0] ?? NaN)} p50 ${f(percentile(sorted, 50))} p90 ${f(percentile(sorted, 90))} p99 ${f(percentile(sorted, 99))} max ${f(sorted.at(-1) ?? NaN)}`;
};
