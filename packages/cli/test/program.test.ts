import { readFileSync, readdirSync } from 'node:fs';
import { PromptopsError } from '@promptops/core';
import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../src/api-client.js';
import { UsageError, exitCodeFor, printError } from '../src/errors.js';
import { createProgram } from '../src/program.js';
import { captureIo, fakeFetch, run } from './helpers.js';

const COMMANDS = createProgram(captureIo().io)
  .commands.map((command) => command.name())
  .filter((name) => name !== 'help');

describe('commands', () => {
  it('has the public command set', () => {
    expect(COMMANDS).toEqual([
      'serve',
      'init',
      'push',
      'pull',
      'status',
      'check',
      'eval',
      'import',
      'lock',
      'prompts',
      'log',
      'show',
      'diff',
      'labels',
      'promote',
      'rollback',
      'label-rules',
      'policy',
      'owners',
      'teams',
      'review',
      'rollout',
      'resolve',
      'blame',
      'verify',
      'trace',
      'traces',
      'metrics',
      'runs',
      'gate',
      'drift',
      'incident',
      'monitor',
      'override',
      'webhook',
      'keys',
      'members',
      'projects',
    ]);
  });

  it('registers every top-level command a command module declares, and no other', () => {
    // By convention a module adds its top-level commands as `program.command('NAME')` (subcommands hang
    // off other variables): a new module not wired into createProgram, or a stale list above, fails here.
    const dir = new URL('../src/commands/', import.meta.url);
    const declared = new Set<string>();
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      for (const match of source.matchAll(/\bprogram\s*\.command\(\s*'([a-z-]+)/g)) declared.add(match[1]!);
    }
    expect(declared.size).toBeGreaterThanOrEqual(30);
    expect([...COMMANDS].sort()).toEqual([...declared].sort());
  });

  it.each(COMMANDS)('%s --help exits 0 and shows usage and --json', async (name) => {
    const result = await run([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: promptops ${name}`);
    expect(result.stdout).toContain('--json');
    expect(result.stderr).toBe('');
  });

  it('eval import --help exits 0 and shows usage and --json', async () => {
    const result = await run(['eval', 'import', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: promptops eval import');
    expect(result.stdout).toContain('--json');
  });

  it('--help and --version exit 0', async () => {
    expect((await run(['--help'])).stdout).toContain('Usage: promptops');
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('usage errors exit 2', () => {
  it.each([
    [['nope'], /unknown command 'nope'/],
    [['push', '--frobnicate'], /unknown option '--frobnicate'/],
    [['log'], /missing required argument 'name'/],
    [['log', 'greeter', '--limit', 'ten'], /limit must be an integer/],
    [['show', 'greeter'], /names no version/],
    [['show', 'greeter@V17'], /"V17" is not a ref/],
    [['show', 'greeter@v1', 'v2'], /already names a ref/],
    [['diff', 'Greeter!', 'v1', 'v2'], /not a prompt name/],
    [['promote', 'greeter', 'v2'], /required option '-l, --label <label>'/],
    [['promote', 'greeter', 'v2', '--label', 'v3'], /not a valid label name/],
    [['rollback', 'greeter', '--to', 'not a ref'], /is not a ref/],
    [['serve', '--port', '70000'], /port must be an integer/],
    [['pull', '--ref', 'v1'], /--ref needs the prompts to pull/],
    [['pull', 'greeter', '--ref', 'v1', '--label', 'staging'], /cannot be used with/],
    [['pull', 'Greeter!'], /not a prompt name/],
    [['status', '--label', 'v3'], /not a valid label name/],
    [['lock', '--label', 'abcdef1'], /not a valid label name/],
    [['check', '--junit'], /argument missing/],
    [[], /Usage: promptops/],
  ])('%j', async (argv, message) => {
    // No server is needed: these fail before any request.
    const result = await run(argv, { fetch: fakeFetch(500, {}) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('with --json, prints the usage error as JSON on stdout', async () => {
    const result = await run(['--json', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    expect(result.json()).toEqual({
      error: expect.objectContaining({ code: 'usage.unknownCommand', message: expect.stringContaining("'nope'") }),
    });
    const badRef = await run(['show', 'greeter@V1', '--json']);
    expect(badRef.code).toBe(2);
    expect(badRef.json()).toMatchObject({ error: { code: 'invalid_ref', fix: expect.stringContaining('v17') } });
  });
});

describe('errors', () => {
  it('maps errors to exit codes', () => {
    expect(exitCodeFor(new UsageError('x', 'bad'))).toBe(2);
    expect(exitCodeFor(new PromptopsError('invalid', 'invalid_prompt_file', 'bad file'))).toBe(1);
    expect(exitCodeFor(new ApiError(409, 'stale_parent', 'moved', {}))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });

  it('prints error and fix on stderr', () => {
    const { io, stdout, stderr } = captureIo();
    printError(
      io,
      new PromptopsError('not_found', 'prompt_not_found', "prompt 'x' does not exist", { fix: 'push it' }),
      false,
    );
    expect(stdout()).toBe('');
    expect(stderr()).toBe("error: prompt 'x' does not exist\nfix: push it\n");
  });

  it('lists issues the message does not already contain', () => {
    const { io, stderr } = captureIo();
    const issues = [{ path: 'messages[0].content', message: 'variable {{x}} is not declared' }];
    printError(io, new ApiError(400, 'invalid_prompt', 'the prompt is invalid', { issues, fix: 'declare it' }), false);
    expect(stderr()).toBe(
      'error: the prompt is invalid\n  - messages[0].content: variable {{x}} is not declared\nfix: declare it\n',
    );
  });

  it('prints { error: { code, message, fix, issues, details } } on stdout with --json', () => {
    const { io, stdout, stderr } = captureIo();
    const issues = [{ path: 'template', message: 'bad' }];
    printError(io, new ApiError(409, 'stale_parent', 'moved', { fix: 'pull', issues, details: { head: 1 } }), true);
    expect(stderr()).toBe('');
    expect(JSON.parse(stdout())).toEqual({
      error: { code: 'stale_parent', message: 'moved', fix: 'pull', issues, details: { head: 1 } },
    });
  });

  it('reports an unreachable server with exit 1 and a fix', async () => {
    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    const result = await run(['log', 'greeter'], { fetch: refused, env: { PROMPTOPS_URL: 'http://127.0.0.1:1' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: cannot reach the promptops server at http://127.0.0.1:1 (ECONNREFUSED)\n' +
        'fix: start it with `promptops serve`, or point --url / PROMPTOPS_URL at a running server\n',
    );
  });
});

describe('ApiClient', () => {
  it('sends the key as a bearer token and encodes names and refs', async () => {
    const requests: { url: string; init: RequestInit | undefined }[] = [];
    const client = new ApiClient({ url: 'http://h:1', apiKey: 'po_k', fetch: fakeFetch(200, { ok: 1 }, requests) });
    await client.getVersion('support/greeter', 'v17');
    await client.diff('a', 'v1', 'production');
    expect(requests[0]?.url).toBe('http://h:1/api/v1/prompts/support%2Fgreeter/versions/v17');
    expect(new Headers(requests[0]?.init?.headers).get('authorization')).toBe('Bearer po_k');
    expect(requests[1]?.url).toBe('http://h:1/api/v1/prompts/a/diff?from=v1&to=production');
  });

  it('turns an error body into an ApiError with code, fix, issues and details', async () => {
    const body = {
      error: {
        code: 'stale_parent',
        message: 'head moved',
        fix: 'pull',
        details: { head: { version: 3, sha: 'a'.repeat(64) } },
      },
    };
    const client = new ApiClient({ url: 'http://h:1', fetch: fakeFetch(409, body) });
    await expect(client.pushVersion('a', { content: {} as never, parent: null })).rejects.toMatchObject({
      status: 409,
      kind: 'conflict',
      code: 'stale_parent',
      message: 'head moved',
      fix: 'pull',
      details: { head: { version: 3 } },
    });
  });

  it('explains a 401 when no key was sent, and a non-JSON error', async () => {
    const unauthorized = { error: { code: 'unauthorized', message: 'missing API key', fix: 'send a key' } };
    const client = new ApiClient({
      url: 'http://h:1',
      fetch: fakeFetch(401, unauthorized),
      missingKeyFix: 'pass --api-key',
    });
    await expect(client.verify()).rejects.toMatchObject({ code: 'unauthorized', fix: 'pass --api-key' });
    const proxy = new ApiClient({ url: 'http://h:1', fetch: fakeFetch(502, '<html>bad gateway</html>') });
    await expect(proxy.verify()).rejects.toMatchObject({
      status: 502,
      code: 'http_error',
      message: expect.stringContaining('HTTP 502'),
    });
  });

  it('returns undefined for a prompt that does not exist yet', async () => {
    const body = { error: { code: 'prompt_not_found', message: 'no such prompt' } };
    const client = new ApiClient({ url: 'http://h:1', fetch: fakeFetch(404, body) });
    expect(await client.getPrompt('new_prompt')).toBeUndefined();
  });
});

describe('output', () => {
  it('colors only on a TTY without NO_COLOR', async () => {
    const version = {
      name: 'g',
      version: 1,
      sha: 'a'.repeat(64),
      parentSha: null,
      author: 'alice',
      message: 'first',
      createdAt: '2025-01-01T00:00:00.000Z',
      labels: ['latest'],
    };
    const fetch = (): typeof globalThis.fetch => fakeFetch(200, { versions: [version], nextBefore: null });
    const plain = await run(['log', 'g'], { fetch: fetch() });
    expect(plain.stdout).toBe('v1  aaaaaaa  2025-01-01 00:00:00Z  alice  first  (latest)\n');
    const tty = await run(['log', 'g'], { fetch: fetch(), tty: true });
    expect(tty.stdout).toContain('\u001b[');
    const noColor = await run(['log', 'g'], { fetch: fetch(), tty: true, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).toBe(plain.stdout);
  });
});
