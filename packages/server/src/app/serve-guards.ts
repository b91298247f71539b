import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PromptopsError } from '@promptops/core';

/**
 * What `serve` checks before it touches anything: that its port is free and that no other live server
 * uses its data directory. A second demo start used to delete the running demo's database first and only
 * then fail on the port.
 */

export const LOCK_FILE = 'serve.lock';

const otherPort = (port: number): number => (port >= 65_535 ? port - 1 : port + 1);

export const portInUse = (host: string, port: number): PromptopsError =>
  new PromptopsError(
    'conflict',
    'port_in_use',
    `port ${port} on ${host} is already in use (another promptops serve?)`,
    {
      fix: `stop the server that holds it (Ctrl+C in its terminal), or pass --port ${otherPort(port)} (with npm start: npm start -- --port ${otherPort(port)}); a second demo also needs its own --data-dir`,
      details: { host, port },
    },
  );

/** Resolves when `host:port` can be bound now; port 0 always can. */
export const assertPortFree = (host: string, port: number): Promise<void> =>
  port === 0
    ? Promise.resolve()
    : new Promise((resolve, reject) => {
        const probe = createServer();
        probe.once('error', (error: NodeJS.ErrnoException) =>
          reject(error.code === 'EADDRINUSE' ? portInUse(host, port) : error),
        );
        probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
      });

interface LockBody {
  readonly pid: number;
  readonly url?: string;
}

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const readLock = async (path: string): Promise<LockBody | undefined> => {
  try {
    const body = JSON.parse(await readFile(path, 'utf8')) as Partial<LockBody>;
    return typeof body.pid === 'number' && Number.isInteger(body.pid) && body.pid > 0
      ? { pid: body.pid, ...(typeof body.url === 'string' ? { url: body.url } : {}) }
      : undefined;
  } catch {
    return undefined;
  }
};

const inUse = (dir: string, holder: LockBody | undefined): PromptopsError => {
  const who = holder === undefined ? '' : ` (pid ${holder.pid}${holder.url === undefined ? '' : ` at ${holder.url}`})`;
  return new PromptopsError(
    'conflict',
    'data_dir_in_use',
    `the data directory ${dir} is in use by another promptops serve${who}`,
    {
      fix: 'stop that server first (Ctrl+C in its terminal), or give this one its own --data-dir DIR and --port N (e.g. --data-dir .promptops-2 --port 4681)',
      details: { dataDir: dir, ...(holder === undefined ? {} : holder) },
    },
  );
};

export interface DataDirLock {
  /** Notes the server's URL in the lock, so a refused start can say where the holder listens. */
  announce(url: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes `<dir>/serve.lock` (created exclusively) for this process. A lock whose process has exited is
 * stale and taken over; a live one is refused with where it listens and the fix.
 */
export const lockDataDir = async (dir: string): Promise<DataDirLock> => {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt += 1) {
    // Written aside, then linked into place: the lock never exists without its content.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify({ pid: process.pid }), { mode: 0o600 });
    try {
      await link(temporary, path);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(temporary, { force: true });
    }
    const holder = await readLock(path);
    // Another start may have taken over the same stale lock meanwhile: after a retry, whoever holds it wins.
    if ((holder !== undefined && alive(holder.pid)) || attempt >= 2) throw inUse(dir, holder);
    // Its process is gone: a crash left it behind.
    await rm(path, { force: true });
  }
  let held = true;
  return {
    announce: async (url) => {
      if (!held) return;
      // Replaced by rename, so a reader never sees it half-written.
      const temporary = `${path}.${process.pid}.url.tmp`;
      await writeFile(temporary, JSON.stringify({ pid: process.pid, url }), { mode: 0o600 })
        .then(() => rename(temporary, path))
        .catch(() => rm(temporary, { force: true }));
    },
    release: async () => {
      if (!held) return;
      held = false;
      await rm(path, { force: true });
    },
  };
};
