/**
 * bench/cli: how long a short `promptops` command takes, end to end, as a shell runs it: a fresh Node
 * process per run, timed from spawn to exit.
 *
 * Subjects, interleaved round by round so the machine's load falls on all of them alike:
 * - `node -e 0`: the floor, Node's own start-up;
 * - `promptops --version`;
 * - `promptops --help`: the whole CLI loaded (bundle, code cache, every command registered), no request;
 * - `promptops rollback NAME --label bench --to vN`: a real rollback against the demo server (its own
 *   process, SQLite), alternating between two versions so every run moves the label;
 * - the same rollback as one HTTP request from this (warm) process: the server's share.
 * Targets: `--version` <= 100 ms, rollback <= 200 ms (medians). `BENCH_RUNS` (default 30).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPromptops } from '../registry/servers.js';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const RUNS = Number(process.env['BENCH_RUNS'] ?? 30);
const WARM_UP = 2;
const KEY = 'po_bench_cli_admin_key_0123456789abcdef';
const PROMPT = 'bench_rollback';
const TARGETS: Readonly<Record<string, number>> = { '--version': 100, rollback: 200 };

if (!existsSync(BIN)) throw new Error(`${BIN} is missing: npm run bench:cli builds first`);

/** One JSON request from this process (node:http: nothing to load after the first). */
const api = (url: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}/api/v1${path}`,
      {
        method,
        headers: {
          authorization: `Bearer ${KEY}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });

const ok = async (call: Promise<{ status: number; text: string }>, what: string): Promise<void> => {
  const { status, text } = await call;
  if (status >= 300) throw new Error(`${what}: HTTP ${status} ${text}`);
};

/** Two versions of a prompt on an unprotected label that has held both, so rollbacks can alternate. */
const setUp = async (url: string): Promise<void> => {
  let parent: string | null = null;
  for (const text of ['Hello {{name}}.', 'Hello {{name}}!']) {
    const content = {
      name: PROMPT,
      type: 'text',
      template: text,
      config: { provider: 'openai', model: 'gpt-4o-mini', params: {} },
      variables: { name: { type: 'string', required: true } },
      slots: {},
    };
    const pushed = await api(url, 'POST', `/prompts/${PROMPT}/versions`, { content, parent });
    if (pushed.status >= 300) throw new Error(`push: HTTP ${pushed.status} ${pushed.text}`);
    parent = (JSON.parse(pushed.text) as { sha: string }).sha;
  }
  for (const ref of ['v1', 'v2']) await ok(api(url, 'PUT', `/prompts/${PROMPT}/labels/bench`, { ref }), 'promote');
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

interface Sample {
  /** From the child's start to its exit. */
  readonly wallMs: number;
  /** The child's CPU time, user + system: what the machine's other load disturbs least. */
  readonly cpuMs: number;
}

/** One Node process under bash's `time` (wall and CPU of that child alone); throws when it fails. */
const timeProcess = (args: readonly string[], env: NodeJS.ProcessEnv): Sample => {
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>&1';
  const result = spawnSync('bash', ['-c', script, 'bench', process.execPath, ...args], { env, encoding: 'utf8' });
  const figures = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(result.stderr);
  if (result.status !== 0 || figures === null) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  const [wall, user, system] = figures.slice(1).map(Number) as [number, number, number];
  return { wallMs: wall * 1000, cpuMs: (user + system) * 1000 };
};

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-cli-'));
  const server = await startPromptops(dir, KEY);
  try {
    await setUp(server.url);
    // The CLI finds the server as a user's shell would: PROMPTOPS_URL and PROMPTOPS_API_KEY.
    const env = { ...process.env, PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: KEY, NO_COLOR: '1' };
    let target = 1;
    const rollbackArgs = (): string[] => {
      const args = [BIN, 'rollback', PROMPT, '--label', 'bench', '--to', `v${target}`, '--reason', 'bench'];
      target = target === 1 ? 2 : 1;
      return args;
    };
    const subjects: { name: string; run: () => Promise<Sample> }[] = [
      { name: 'node -e 0', run: async () => timeProcess(['-e', '0'], env) },
      { name: '--version', run: async () => timeProcess([BIN, '--version'], env) },
      { name: '--help', run: async () => timeProcess([BIN, '--help'], env) },
      { name: 'rollback', run: async () => timeProcess(rollbackArgs(), env) },
      {
        name: 'rollback request alone',
        run: async () => {
          const started = process.hrtime.bigint();
          const to = `v${target}`;
          target = target === 1 ? 2 : 1;
          const path = `/prompts/${PROMPT}/labels/bench/rollback`;
          await ok(api(server.url, 'POST', path, { to, reason: 'bench' }), 'rollback');
          return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: Number.NaN };
        },
      },
    ];
    const samples = new Map<string, Sample[]>(subjects.map((subject) => [subject.name, []]));
    const loadBefore = loadavg()[0]!;
    for (let round = 0; round < WARM_UP + RUNS; round += 1) {
      // Rotated each round: no subject always runs right after another.
      for (let i = 0; i < subjects.length; i += 1) {
        const subject = subjects[(round + i) % subjects.length]!;
        const sample = await subject.run();
        if (round >= WARM_UP) samples.get(subject.name)!.push(sample);
      }
    }
    const loadAfter = loadavg()[0]!;

    const wall = (name: string): number[] => samples.get(name)!.map((sample) => sample.wallMs);
    const cpu = (name: string): number[] => samples.get(name)!.map((sample) => sample.cpuMs);
    const ms = (value: number): string => (Number.isNaN(value) ? '-' : `${value.toFixed(0)} ms`);
    const floor = { wall: median(wall('node -e 0')), cpu: median(cpu('node -e 0')) };
    const columns = ['median', 'p10', 'p90', 'cpu', 'wall over node', 'cpu over node'];
    console.log(
      `promptops CLI start-up: ${RUNS} runs per subject after ${WARM_UP} warm-up rounds, interleaved; Node ${process.version}; load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`,
    );
    console.log(
      `${'subject'.padEnd(24)}${columns.map((c) => c.padStart(c.length > 8 ? 16 : 9)).join('')}  target (medians)`,
    );
    for (const subject of subjects) {
      const name = subject.name;
      const m = median(wall(name));
      const c = median(cpu(name));
      const goal = TARGETS[name];
      // On a busy machine the wall time is mostly waiting for a core; the CPU time says what the command costs.
      const verdict =
        goal === undefined
          ? ''
          : `<= ${goal} ms: wall ${m <= goal ? 'met' : 'missed'}, cpu ${c <= goal ? 'met' : 'missed'}`;
      const relative = name !== 'node -e 0' && !name.endsWith('alone');
      const cells = [
        ms(m),
        ms(percentile(wall(name), 10)),
        ms(percentile(wall(name), 90)),
        ms(c),
        relative ? `+${ms(m - floor.wall)}` : '',
        relative ? `+${ms(c - floor.cpu)}` : '',
      ];
      console.log(`${name.padEnd(24)}${cells.map((cell, i) => cell.padStart(i >= 4 ? 16 : 9)).join('')}  ${verdict}`);
    }
    const help = median(wall('--help'));
    const rollback = median(wall('rollback'));
    const alone = median(wall('rollback request alone'));
    console.log(
      `where a rollback's ${ms(rollback)} go (wall medians): Node's start-up ${ms(floor.wall)}, loading the CLI ${ms(help - floor.wall)}, the request and the rest ${ms(rollback - help)} (the server answers a warm client in ${ms(alone)})`,
    );
    if (Math.max(loadBefore, loadAfter) > 1.5) {
      console.log(
        'note: the machine was busy (load average above 1.5): wall times are noisy; read them against node -e 0 and the CPU times.',
      );
    }
  } finally {
    await server.stop();
  }
};

await main();
