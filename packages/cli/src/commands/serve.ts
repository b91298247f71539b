import type { Command } from 'commander';
import { dataDirOf } from '../config.js';
import type { CommandContext } from '../context.js';
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
    .action(async (options: { port: number; host: string; db?: string; demo?: boolean }, command: Command) => {
      const globals = ctx.options(command);
      const out = ctx.output(command);
      const db = options.db ?? (ctx.io.env.PROMPTOPS_DB || undefined);
      // Loaded only here: the server and its database drivers are heavy, and no other command needs them.
      const { startServer } = await import('@promptops/server');
      const server = await startServer({
        host: options.host,
        port: options.port,
        dataDir: dataDirOf(globals, ctx.io.env, ctx.io.cwd),
        demo: options.demo === true,
        ...(db === undefined ? {} : { db }),
        // The server announces itself (URL, a new admin key); with --json that goes to stderr.
        print: (line: string) => (out.json ? out.note(line) : out.line(line)),
      });
      if (out.json) out.data({ url: server.url });
      out.note('press Ctrl+C to stop');
      await (ctx.io.signal === undefined ? processStop() : abortStop(ctx.io.signal));
      out.note('stopping…');
      await server.close();
    });
};
