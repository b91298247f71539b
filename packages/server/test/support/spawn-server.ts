import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SERVER_DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface SpawnedServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGTERM for a graceful stop (the default), SIGKILL for a crash; SIGKILL after 5 s regardless. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `startServer` from the build in its own Node process (a real replica), on a free port.
 * `npm test` builds before running tests; run `npx tsc -b packages/server` when running a file alone.
 */
export const spawnServer = async (
  env: Record<string, string>,
  options: { port?: number } = {},
): Promise<SpawnedServer> => {
  if (!existsSync(SERVER_DIST)) throw new Error(`${SERVER_DIST} is missing: build first (npm run build)`);
  const code = `
    const { startServer } = await import(${JSON.stringify(SERVER_DIST)});
    const server = await startServer({ port: ${options.port ?? 0}, log: 'quiet' });
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
};
