import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SERVER_DIST = fileURLToPath(new URL('../../packages/server/dist/index.js', import.meta.url));
const FASTIFY = fileURLToPath(new URL('../../node_modules/fastify/fastify.js', import.meta.url));

export interface ChildServer {
  readonly url: string;
  /** The server's process id, which is also its main thread's id on Linux. */
  readonly pid: number | undefined;
  /** CPU time the server process has used so far (user + system, all threads), in ms; NaN off Linux. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** utime + stime from /proc/PID/stat (fields 14 and 15, after the parenthesized command name). */
const processCpuMs = (pid: number | undefined): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks: 100 per second on Linux
  } catch {
    return Number.NaN;
  }
};

/** Runs `code` in its own Node process; it must print `listening on URL`. */
const run = (code: string, env: Record<string, string> = {}): Promise<ChildServer> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        resolve({
          url: match[1]!,
          pid: child.pid,
          cpuMs: () => processCpuMs(child.pid),
          stop: () =>
            new Promise<void>((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (exitCode) => reject(new Error(`server exited (${exitCode}): ${out}`)));
  });

/** The real server, as `promptops serve --demo` runs it (request logging off, as for the baseline). */
export const startPromptops = (dataDir: string, adminKey: string, db?: string): Promise<ChildServer> =>
  run(
    `const { startServer } = await import(${JSON.stringify(SERVER_DIST)});
     await startServer({ port: 0, demo: ${db === undefined}, dataDir: ${JSON.stringify(dataDir)}, log: false });`,
    { PROMPTOPS_INIT_ADMIN_KEY: adminKey, ...(db === undefined ? {} : { PROMPTOPS_DB: db }) },
  );

/** The ceiling: a bare Fastify route that returns the same JSON body from memory. */
export const startBareFastify = (body: string): Promise<ChildServer> =>
  run(
    `const { default: Fastify } = await import(${JSON.stringify(FASTIFY)});
     const body = JSON.parse(${JSON.stringify(body)});
     const app = Fastify();
     app.get('/api/v1/prompts/:name/versions/:ref', async () => body);
     app.post('/api/v1/prompts/:name/versions', async (request, reply) => reply.code(201).send(request.body));
     await app.listen({ host: '127.0.0.1', port: 0 });
     console.log('listening on http://127.0.0.1:' + app.server.address().port);`,
  );
