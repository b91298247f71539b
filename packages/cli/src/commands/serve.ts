import type { Command } from 'commander';
import { dataDirOf } from '../config.js';
import type { CommandContext } from '../context.js';
import { parseArg } from '../errors.js';
import { integerOption } from './options.js';

/** `promptops serve`: a thin shell around the server's `startServer`, stopped by SIGINT/SIGTERM. */

/** Resolves on the first SIGINT/SIGTERM; the handlers are removed then, so a second signal kills as usual. */
const processStop = (): Promise<string> =>
  new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

const abortStop = (signal: AbortSignal): Promise<string> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve('abort');
    else signal.addEventListener('abort', () => resolve('abort'), { once: true });
  });

interface ServeFlags {
  port: number;
  host: string;
  db?: string;
  demo?: boolean;
  logLevel?: string;
  trustProxy?: string;
  writeRateLimit?: string;
  gatewayConfig?: string;
  metricsPublic?: boolean;
}

export const registerServe = (program: Command, ctx: CommandContext): void => {
  program
    .command('serve')
    .description('run the promptops server (SQLite in the data dir unless --db says otherwise)')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', integerOption('port', 0, 65_535), 4680)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--db <url>',
      'database: sqlite:PATH or postgres://… (default: env PROMPTOPS_DB, else sqlite:<data-dir>/promptops.db)',
    )
    .option('--demo', 'seed the demo project (customer_support_greeter v17/v18)')
    .option(
      '--log-level <level>',
      'JSON log lines on stderr from: fatal, error, warn, info, debug, trace, silent (default: env PROMPTOPS_LOG_LEVEL, else warn)',
    )
    .option(
      '--trust-proxy <value>',
      'take the client address from X-Forwarded-For set by: true (any hop), N (the N nearest hops), or proxy addresses/CIDRs, comma-separated (default: env PROMPTOPS_TRUST_PROXY, else none)',
    )
    .option(
      '--write-rate-limit <n>',
      'writes per minute per API key, 0 for no limit (default: env PROMPTOPS_WRITE_RATE_LIMIT, else 1200)',
    )
    .option(
      '--gateway-config <file>',
      "JSON or YAML file of the gateway's upstreams, name -> { baseURL, apiKeyEnv } (default: env PROMPTOPS_GATEWAY_CONFIG, else only the simulated provider)",
    )
    .option('--metrics-public', 'answer GET /metrics without an API key (default: env PROMPTOPS_METRICS_PUBLIC=1)')
    .action(async (options: ServeFlags, command: Command) => {
      const globals = ctx.options(command);
      const out = ctx.output(command);
      const db = options.db ?? (ctx.io.env.PROMPTOPS_DB || undefined);
      // Loaded only here: the server and its database drivers are heavy, and no other command needs them.
      const server = await import('@promptops/server');
      // A flag wins over its environment variable; either is checked here, so a mistake names its source.
      const setting = <T>(
        given: string | undefined,
        flag: string,
        env: string,
        parse: (text: string, source: string) => T,
      ): T | undefined => {
        if (given !== undefined) return parseArg(() => parse(given, flag));
        const text = ctx.io.env[env];
        return text === undefined || text === '' ? undefined : parseArg(() => parse(text, env));
      };
      const logLevel = setting(options.logLevel, '--log-level', 'PROMPTOPS_LOG_LEVEL', server.parseLogLevel);
      const trustProxy = setting(options.trustProxy, '--trust-proxy', 'PROMPTOPS_TRUST_PROXY', server.parseTrustProxy);
      const writeRateLimit = setting(
        options.writeRateLimit,
        '--write-rate-limit',
        'PROMPTOPS_WRITE_RATE_LIMIT',
        server.parseWriteRateLimit,
      );
      const gatewayConfig = options.gatewayConfig ?? (ctx.io.env.PROMPTOPS_GATEWAY_CONFIG || undefined);
      const running = await server.startServer({
        host: options.host,
        port: options.port,
        dataDir: dataDirOf(globals, ctx.io.env, ctx.io.cwd),
        demo: options.demo === true,
        ...(db === undefined ? {} : { db }),
        ...(logLevel === undefined ? {} : { logLevel }),
        ...(trustProxy === undefined ? {} : { trustProxy }),
        ...(writeRateLimit === undefined ? {} : { writeRateLimit }),
        ...(gatewayConfig === undefined ? {} : { gatewayConfig }),
        ...(options.metricsPublic === true ? { metricsPublic: true } : {}),
        logStream: { write: (line: string) => void ctx.io.stderr.write(line) },
        // The server announces itself (URL, a new admin key); with --json that goes to stderr.
        print: (line: string) => (out.json ? out.note(line) : out.line(line)),
      });
      if (out.json) out.data({ url: running.url });
      out.note('press Ctrl+C to stop');
      await (ctx.io.signal === undefined ? processStop() : abortStop(ctx.io.signal));
      out.note('stopping…');
      await running.close();
    });
};
