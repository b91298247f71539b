import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { useSha256 } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { AUDIT_KEY_ENV, parseAuditKeys } from '../audit/keyring.js';
import { sealAuditLogs } from '../audit/seal.js';
import { bootstrap } from '../auth/bootstrap.js';
import { sha256Hex } from '../auth/keys.js';
import { systemClock } from '../context.js';
import { seedDemo } from '../demo/seed.js';
import { embeddingsSettingsFrom, type EmbeddingsSettings } from '../drift/embeddings.js';
import { GATEWAY_CONFIG_ENV, loadGatewayConfig } from '../gateway/config-file.js';
import { monitorTickMsFrom } from '../incidents/runner.js';
import { rolloutTickMsFrom } from '../rollouts/scheduler.js';
import { webhookSettingsFrom } from '../webhooks/settings.js';
import { buildApp } from './app.js';
import { locateWebDist, WEB_BUILD_HINT } from './web.js';
import { appSettings, type ServeSettings } from './server-settings.js';
import { assertPortFree, lockDataDir, portInUse } from './serve-guards.js';
import { createStorage, type Stores } from './stores.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 4680;
export const DEFAULT_DATA_DIR = '.promptops';

export interface ServerOptions extends ServeSettings {
  readonly host?: string;
  readonly port?: number;
  /** `sqlite:PATH` or `postgres://…`; default `PROMPTOPS_DB`, else `sqlite:<dataDir>/promptops.db`. */
  readonly db?: string;
  /** Start on a fresh demo database seeded with the demo's story (`demo/story.ts`). */
  readonly demo?: boolean;
  readonly dataDir?: string;
  /** Default `PROMPTOPS_INIT_ADMIN_KEY`. */
  readonly initAdminKey?: string;
  /** Default `PROMPTOPS_AUDIT_HMAC_KEY`: the key (then older keys, comma-separated) audit entries are authenticated with. */
  readonly auditHmacKey?: string;
  /** The built dashboard to serve at `/`; default: found next to the server (see `locateWebDist`); false serves none. */
  readonly webRoot?: string | false;
  /** The gateway's upstreams: a JSON or YAML file (`gateway/config-file.ts`); default `PROMPTOPS_GATEWAY_CONFIG`. */
  readonly gatewayConfig?: string;
  /** How often running rollouts are decided, in ms; default `PROMPTOPS_ROLLOUT_TICK_MS`, else 10 s. */
  readonly rolloutTickMs?: number;
  /** How often monitors look, in ms; default `PROMPTOPS_MONITOR_TICK_MS`, else 5 s. */
  readonly monitorTickMs?: number;
  /** Drift reports' embeddings provider; default from PROMPTOPS_EMBEDDINGS_URL, _MODEL, _API_KEY, _TIMEOUT_MS (none). */
  readonly embeddings?: EmbeddingsSettings;
  /** Where start-up messages go; default stdout. */
  readonly print?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly storage: Stores;
  /** The admin key when this start created it. */
  readonly adminKey?: string;
  close(): Promise<void>;
}

const DEMO_DB = 'demo.db';
const CLOSE_GRACE_MS = 3000;

export const startServer = async (options: ServerOptions = {}): Promise<RunningServer> => {
  useSha256(sha256Hex);
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const dataDir = resolve(options.dataDir ?? process.env['PROMPTOPS_DATA_DIR'] ?? DEFAULT_DATA_DIR);
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const settings = appSettings(options);
  // Read before anything starts: a broken gateway config refuses the start, naming the file and field.
  const loaded = await loadGatewayConfig(options.gatewayConfig ?? process.env[GATEWAY_CONFIG_ENV]);
  // The demo without a config answers its prompts' providers (openai, anthropic) offline, simulated.
  const gateway = options.demo === true && loaded.config === undefined ? { ...loaded, simulateUnlisted: true } : loaded;
  const rolloutTickMs = options.rolloutTickMs ?? rolloutTickMsFrom(process.env);
  const monitorTickMs = options.monitorTickMs ?? monitorTickMsFrom(process.env);
  const webhooks = webhookSettingsFrom(process.env, options.demo === true);
  const embeddings = options.embeddings ?? embeddingsSettingsFrom(process.env);
  let db = options.db ?? process.env['PROMPTOPS_DB'];
  // Before anything is touched: a busy port, or a data directory whose database another server uses
  // (an explicit --db may be shared by replicas), refuse the start instead of failing half-way.
  await assertPortFree(host, port);
  const lock = db === undefined ? await lockDataDir(dataDir) : undefined;
  if (options.demo === true && db === undefined) {
    // The demo always starts from an empty database so the story is the same every time.
    const path = join(dataDir, DEMO_DB);
    await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true })));
    db = `sqlite:${path}`;
  }
  db ??= `sqlite:${join(dataDir, 'promptops.db')}`;

  const keyring = parseAuditKeys(options.auditHmacKey ?? process.env[AUDIT_KEY_ENV]);
  const storage = await createStorage(db, keyring === undefined ? {} : { auditMac: keyring.mac }).catch(
    async (error: unknown) => {
      await lock?.release();
      throw error;
    },
  );
  try {
    if (keyring !== undefined) await sealAuditLogs(storage, systemClock);
    const webRoot = options.webRoot === false ? undefined : (options.webRoot ?? locateWebDist());
    const app = await buildApp({
      storage,
      ...(keyring === undefined ? {} : { auditKeyring: keyring }),
      ...(webRoot === undefined ? {} : { webRoot }),
      gateway,
      ...(rolloutTickMs === undefined ? {} : { rollouts: { tickMs: rolloutTickMs } }),
      ...(monitorTickMs === undefined ? {} : { monitors: { tickMs: monitorTickMs } }),
      webhooks,
      ...(embeddings === undefined ? {} : { drift: { embeddings } }),
      ...settings,
    });
    await app.listen({ host, port }).catch((error: NodeJS.ErrnoException) => {
      // Taken since the check above.
      throw error.code === 'EADDRINUSE' ? portInUse(host, port) : error;
    });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address !== null ? address.port : port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    await lock?.announce(url);
    // Every replica ticks; the one holding the rollouts lease decides. Stopped by app.close().
    app.rolloutScheduler.start();
    app.monitorRunner.start();
    app.webhookDispatcher.start();

    const initAdminKey = options.initAdminKey ?? process.env['PROMPTOPS_INIT_ADMIN_KEY'];
    const boot = await bootstrap(storage, systemClock, { initAdminKey, dataDir, url });
    if (options.demo === true) {
      if ((await storage.registry.listPrompts(boot.project.id)).length === 0) await seedDemo(storage, boot.project);
      else print('demo: the database already has prompts; not seeding');
    }
    print(`promptops listening on ${url} (${storage.dialect}${options.demo === true ? ', demo data' : ''})`);
    if (options.webRoot !== false) print(webRoot === undefined ? `dashboard: ${WEB_BUILD_HINT}` : `dashboard: ${url}/`);
    const providers = [...new Set([...Object.keys(gateway.config?.providers ?? {}), 'simulated'])].join(', ');
    const others = gateway.simulateUnlisted === true ? '; any other answered by simulated' : '';
    print(`gateway: POST ${url}/v1/chat/completions (providers: ${providers}${others})`);
    if (boot.credentialsPath !== undefined) {
      print(`admin API key: ${boot.adminKey ?? ''}`);
      print(`  written to ${boot.credentialsPath} (mode 0600); the CLI in this directory uses it`);
    }
    return {
      url,
      app,
      storage,
      ...(boot.adminKey === undefined ? {} : { adminKey: boot.adminKey }),
      close: async () => {
        // In-flight requests get a grace period; then connections that never sent a request (fetch
        // clients keep a spare one open after an aborted stream) stop holding the shutdown.
        const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        await app.close();
        clearTimeout(force);
        await storage.close();
        await lock?.release();
      },
    };
  } catch (error) {
    await storage.close();
    await lock?.release();
    throw error;
  }
};
