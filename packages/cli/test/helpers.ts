import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { startServer } from '@promptops/server';
import type { CliIo } from '../src/io.js';
import { runCli } from '../src/program.js';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly tty?: boolean;
  readonly fetch?: typeof globalThis.fetch;
  readonly signal?: AbortSignal;
  /** Called with each stdout chunk as it is written (to wait for `serve`). */
  readonly onStdout?: (text: string) => void;
}

export const captureIo = (options: RunOptions = {}): { io: CliIo; stdout: () => string; stderr: () => string } => {
  let stdout = '';
  let stderr = '';
  const tty = options.tty === true;
  const io: CliIo = {
    stdout: {
      isTTY: tty,
      columns: 120,
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(text);
      },
    },
    stderr: { isTTY: tty, columns: 120, write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
};

/** Runs the CLI in-process with captured output. */
export const run = async (argv: readonly string[], options: RunOptions = {}): Promise<RunResult> => {
  const captured = captureIo(options);
  const code = await runCli(argv, captured.io);
  const stdout = captured.stdout();
  return {
    code,
    stdout,
    stderr: captured.stderr(),
    json: <T>() => JSON.parse(stdout) as T,
  };
};

export const tempDir = (prefix = 'promptops-cli-'): Promise<string> => mkdtemp(join(tmpdir(), prefix));

/** A fetch that answers every request with one canned response, recording the requests. */
export const fakeFetch = (
  status: number,
  body: unknown,
  requests: { url: string; init: RequestInit | undefined }[] = [],
): typeof globalThis.fetch =>
  (async (input: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(input), init });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;

/** Every file under `root` (relative path -> sha256 of its bytes), to prove a command left a tree untouched. */
export const hashTree = async (root: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else
        out[relative(root, path).split(sep).join('/')] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
    }
  };
  await walk(root);
  return out;
};

/** Writes `text` at `path` under `root`, creating folders. */
export const writeAt = async (root: string, path: string, text: string): Promise<void> => {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
};

/** The demo's greeter (v17), byte for byte, as the repository's example prompt holds it. */
export const GREETER_FILE = readFileSync(
  fileURLToPath(new URL('../../../examples/prompts/customer_support_greeter.prompt.yaml', import.meta.url)),
  'utf8',
);

/**
 * A server holding the demo data for the enclosing `describe`: started before its tests, closed after.
 * `env` points the CLI at it with an admin key.
 */
export const demoServer = (name: string): { env: Record<string, string> } => {
  const adminKey = `po_${name}_admin_key_0123456789abcdef0123`;
  const state = { env: {} as Record<string, string> };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  beforeAll(async () => {
    const dir = await tempDir(`promptops-cli-${name}-`);
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      demo: true,
      dataDir: join(dir, 'data'),
      initAdminKey: adminKey,
      print: () => {},
    });
    state.env = { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: adminKey };
  });
  afterAll(async () => {
    await server?.close();
  });
  return state;
};
