import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL 15 cluster for tests: its own temp directory, a random port on 127.0.0.1,
 * trust auth, fsync off. Tests never skip for want of it: a missing install is an error with the fix.
 */

const BIN = '/usr/lib/postgresql/15/bin';
const DATABASE = 'promptops';

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:PORT/promptops` */
  readonly url: string;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** initdb and pg_ctl refuse to run as root, so root runs them as `postgres`. */
const run = (binary: string, args: readonly string[], cwd: string): void => {
  const [command, argv] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', join(BIN, binary), ...args]]
    : [join(BIN, binary), [...args]];
  const result = spawnSync(command, argv, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim();
    throw new Error(`${binary} ${args.join(' ')} failed (exit ${result.status}):\n${output}`);
  }
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

const postgresIds = (): { uid: number; gid: number } => ({
  uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
  gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
});

const readLog = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '(no log)');

export const startPostgres = async (): Promise<PostgresCluster> => {
  if (!existsSync(join(BIN, 'initdb')) || !existsSync(join(BIN, 'pg_ctl'))) {
    throw new Error('PostgreSQL 15 is not installed: run `apt-get install -y postgresql` (.ci/run does this)');
  }

  const dir = mkdtempSync(join(tmpdir(), 'promptops-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  let running = false;
  let removed = false;

  const stopSync = (): void => {
    if (running) {
      running = false;
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w'], dir);
      } catch {
        // Best effort: the server may already be gone.
      }
    }
    if (!removed) {
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // A test process that exits without calling stop() must not leave a server behind.
  process.once('exit', stopSync);

  try {
    if (isRoot()) {
      const { uid, gid } = postgresIds();
      chownSync(dir, uid, gid);
    }
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], dir);

    // A port can be taken between probing and binding (test files start in parallel): retry a few times.
    let port = 0;
    for (let attempt = 1; !running; attempt++) {
      port = await freePort();
      const options = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        run('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', options], dir);
        running = true;
      } catch (error) {
        if (attempt >= 3) throw new Error(`${(error as Error).message}\n${readLog(log)}`, { cause: error });
      }
    }

    const url = `postgres://postgres@127.0.0.1:${port}/${DATABASE}`;
    await createDatabase(url, DATABASE);
    return {
      url,
      stop: async () => {
        process.removeListener('exit', stopSync);
        running = running && stopFast(data, dir);
        stopSync();
      },
    };
  } catch (error) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw error;
  }
};

/** A clean shutdown; returns whether the server still needs stopping. */
const stopFast = (data: string, dir: string): boolean => {
  try {
    run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30'], dir);
    return false;
  } catch {
    return true;
  }
};

/** Creates database `name` on the cluster of `url` and returns the URL that names it. */
export const createDatabase = async (url: string, name: string): Promise<string> => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must match [a-z_][a-z0-9_]*`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
};
