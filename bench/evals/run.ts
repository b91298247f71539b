/**
 * bench/evals: the same 200-case suite run by `promptops eval` (the built CLI, as a user runs it) and by
 * promptfoo 0.121.x (`promptfoo eval`), against one local OpenAI-compatible server that answers every
 * chat completion after a fixed 50 ms. Same cases, same assertions (icontains, contains, not-icontains),
 * same concurrency (20). Each tool first runs with an empty cache, then again with its cache warm.
 * Prints wall times, ratios and the upstream request counts; asserts nothing.
 *
 *   npm run bench:evals         (BENCH_CASES=200, BENCH_DELAY_MS=50, BENCH_CONCURRENCY=20)
 *
 * promptfoo is installed on demand into bench/evals/node_modules (never by the root install or CI).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CASES = Number(process.env['BENCH_CASES'] ?? 200);
const DELAY_MS = Number(process.env['BENCH_DELAY_MS'] ?? 50);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 20);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const CLI = join(root, 'packages', 'cli', 'dist', 'bin.js');
const PROMPTFOO = join(here, 'node_modules', '.bin', 'promptfoo');
const CLOSING = 'Is there anything else I can help with?';
const SYSTEM = `You are a helpful support agent.\nAlways greet the user by name.\nAlways end with "${CLOSING}"`;

// ---------- the upstream: a chat completions endpoint with a fixed delay ----------
let requests = 0;
const upstream = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    requests += 1;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages?: { content: string }[] };
    const asked = body.messages?.at(-1)?.content ?? '';
    const name = asked.split(' asks:')[0] ?? 'there';
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests}`,
          object: 'chat.completion',
          created: 0,
          model: 'gpt-4o-mini',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: `Hello, ${name}! Here is how to do that. ${CLOSING}` },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 40, completion_tokens: 15, total_tokens: 55 },
        }),
      );
    }, DELAY_MS);
  });
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;

// ---------- one project, both tools' files ----------
const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-evals-'));
const write = (path: string, text: string): void => {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
};
const cases = Array.from({ length: CASES }, (_, i) => ({
  vars: { user_name: `User${i}`, question: `How do I change setting number ${i}?` },
  assert: [
    { type: 'icontains', value: `user${i}` },
    { type: 'contains', value: CLOSING },
    { type: 'not-icontains', value: 'as an AI' },
  ],
}));
write(
  'prompts/bench_greeter.prompt.yaml',
  JSON.stringify({
    type: 'chat',
    model: { provider: 'openai', name: 'gpt-4o-mini' },
    variables: { user_name: { type: 'string' }, question: { type: 'string' } },
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: '{{user_name}} asks: {{question}}' },
    ],
  }),
);
write(
  'evals/bench.eval.yaml',
  JSON.stringify({
    name: 'bench',
    prompt: 'bench_greeter',
    provider: { id: 'openai', model: 'gpt-4o-mini', baseUrl },
    cases: cases.map((c, i) => ({ id: `case-${i}`, ...c })),
  }),
);
write(
  'prompt.json',
  JSON.stringify([
    { role: 'system', content: SYSTEM },
    { role: 'user', content: '{{user_name}} asks: {{question}}' },
  ]),
);
write(
  'promptfooconfig.yaml',
  JSON.stringify({
    description: 'bench',
    prompts: ['file://prompt.json'],
    providers: [{ id: 'openai:chat:gpt-4o-mini', config: { apiBaseUrl: baseUrl } }],
    tests: cases,
  }),
);

// ---------- running a command and timing it ----------
interface Timed {
  readonly ms: number;
  readonly calls: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
const timed = (command: string, args: readonly string[], env: Record<string, string>): Promise<Timed> =>
  new Promise((resolve, reject) => {
    const before = requests;
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ ms: performance.now() - started, calls: requests - before, code, stdout, stderr }),
    );
  });

const check = (what: string, result: Timed, passed: number | undefined): void => {
  if (result.code !== 0 || passed !== CASES) {
    console.error(`${what}: exit ${result.code}, ${passed ?? '?'} of ${CASES} passed\n${result.stderr.slice(-2000)}`);
    process.exit(1);
  }
};

// ---------- promptops ----------
if (!existsSync(CLI)) {
  console.error('bench/evals needs the build: npm run build (npm run bench:evals does it)');
  process.exit(1);
}
const promptopsEnv = { OPENAI_API_KEY: 'bench-key' };
const promptopsArgs = [CLI, 'eval', '--concurrency', String(CONCURRENCY), '--json'];
const promptopsPassed = (result: Timed): number | undefined =>
  result.code === 0
    ? (JSON.parse(result.stdout) as { suites: { summary: { passed: number } }[] }).suites[0]?.summary.passed
    : undefined;
const startup = await timed(process.execPath, [CLI, '--version'], {});
const pCold = await timed(process.execPath, promptopsArgs, promptopsEnv);
check('promptops eval (cold)', pCold, promptopsPassed(pCold));
const pWarm = await timed(process.execPath, promptopsArgs, promptopsEnv);
check('promptops eval (cached)', pWarm, promptopsPassed(pWarm));

// ---------- promptfoo ----------
if (!existsSync(PROMPTFOO)) {
  console.log('installing the baseline (promptfoo 0.121.x) into bench/evals/node_modules …');
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
    cwd: here,
    stdio: 'inherit',
  });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const promptfooVersion = (
  JSON.parse(readFileSync(join(here, 'node_modules', 'promptfoo', 'package.json'), 'utf8')) as { version: string }
).version;
const promptfooHome = join(dir, '.promptfoo');
const promptfooEnv = {
  OPENAI_API_KEY: 'bench-key',
  PROMPTFOO_CONFIG_DIR: promptfooHome,
  PROMPTFOO_CACHE_PATH: join(promptfooHome, 'cache'),
  PROMPTFOO_DISABLE_TELEMETRY: '1',
  PROMPTFOO_DISABLE_UPDATE: '1',
  PROMPTFOO_DISABLE_SHARING: '1',
  PROMPTFOO_DISABLE_REMOTE_GENERATION: '1',
  NO_COLOR: '1',
};
const promptfooArgs = [
  'eval',
  '-c',
  'promptfooconfig.yaml',
  '-j',
  String(CONCURRENCY),
  '--no-progress-bar',
  '--no-table',
  '-o',
  'promptfoo-out.json',
];
const promptfooPassed = (result: Timed): number | undefined => {
  try {
    const out = JSON.parse(readFileSync(join(dir, 'promptfoo-out.json'), 'utf8')) as {
      results: { stats: { successes: number } };
    };
    return out.results.stats.successes;
  } catch {
    return result.code === 0 ? undefined : undefined;
  }
};
const fStartup = await timed(PROMPTFOO, ['--version'], promptfooEnv);
const fCold = await timed(PROMPTFOO, promptfooArgs, promptfooEnv);
check('promptfoo eval (cold)', fCold, promptfooPassed(fCold));
const fWarm = await timed(PROMPTFOO, promptfooArgs, promptfooEnv);
check('promptfoo eval (cached)', fWarm, promptfooPassed(fWarm));
upstream.close();

// ---------- report ----------
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const floor = Math.ceil(CASES / CONCURRENCY) * DELAY_MS;
console.log(
  `\nbench/evals: ${CASES} cases x 3 assertions, upstream delay ${DELAY_MS} ms, concurrency ${CONCURRENCY} ` +
    `(upstream floor ${s(floor)}); node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
);
const rows = [
  ['', 'promptops', `promptfoo ${promptfooVersion}`, 'promptfoo ÷ promptops'],
  ['start-up (--version)', s(startup.ms), s(fStartup.ms), `x${(fStartup.ms / startup.ms).toFixed(1)}`],
  ['first run (cold cache)', s(pCold.ms), s(fCold.ms), `x${(fCold.ms / pCold.ms).toFixed(1)}`],
  ['  upstream calls', String(pCold.calls), String(fCold.calls), ''],
  ['cached rerun', s(pWarm.ms), s(fWarm.ms), `x${(fWarm.ms / pWarm.ms).toFixed(1)}`],
  ['  upstream calls', String(pWarm.calls), String(fWarm.calls), ''],
];
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows)
  console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '));
console.log(
  `\ntargets: first run >= 3x faster than promptfoo: ${fCold.ms / pCold.ms >= 3 ? 'met' : 'missed'}; ` +
    `cached rerun < 0.5 s: ${pWarm.ms < 500 ? 'met' : 'missed'}`,
);
