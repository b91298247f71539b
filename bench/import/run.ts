/**
 * bench/import: `promptops import langfuse` of 1,000 versions (10 prompts × 100 versions, 3 labels each)
 * from the local fake Langfuse server (packages/cli/test/fake-langfuse.ts) into a fresh SQLite server,
 * in-process, timed end to end; then the re-run, which changes nothing. Prints both.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@promptops/server';
import {
  FAKE_PUBLIC_KEY,
  FAKE_SECRET_KEY,
  langfuseHistory,
  startFakeLangfuse,
} from '../../packages/cli/test/fake-langfuse.js';
import { runCli } from '../../packages/cli/src/program.js';

const KEY = 'po_bench_import_admin_key_0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'promptops-bench-import-'));
const history = langfuseHistory(10, 100);
const fake = await startFakeLangfuse(history);
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  db: `sqlite:${join(dir, 'registry.db')}`,
  dataDir: join(dir, 'data'),
  initAdminKey: KEY,
  // 2,060 writes in a few seconds: past the default 1,200 a minute per key (0: no limit).
  writeRateLimit: 0,
  print: () => {},
});
const argv = [
  'import',
  'langfuse',
  '--host',
  fake.url,
  '--public-key',
  FAKE_PUBLIC_KEY,
  '--secret-key',
  FAKE_SECRET_KEY,
  '--json',
];
let stdout = '';
const io = {
  stdout: { isTTY: false, columns: 120, write: (text: string) => void (stdout += text) },
  stderr: { isTTY: false, columns: 120, write: (text: string) => void process.stderr.write(text) },
  env: { PROMPTOPS_URL: server.url, PROMPTOPS_API_KEY: KEY },
  cwd: dir,
};
try {
  for (const pass of ['first import', 're-run']) {
    const started = performance.now();
    stdout = '';
    const code = await runCli(argv, io);
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`import exited ${code}: ${stdout}`);
    const { created, moved } = JSON.parse(stdout) as { created: number; moved: number };
    console.log(
      `${pass}: ${history.flat().length} versions in ${seconds.toFixed(2)} s (${((seconds * 1000) / history.flat().length).toFixed(2)} ms a version); ${created} created, ${moved} labels moved`,
    );
  }
} finally {
  await server.close();
  await fake.close();
}
