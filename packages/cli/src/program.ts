import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { registerBlame } from './commands/blame.js';
import { registerAccess } from './commands/access.js';
import { registerCheck } from './commands/check.js';
import { registerDiff } from './commands/diff.js';
import { registerDrift } from './commands/drift.js';
import { registerEval } from './commands/eval.js';
import { registerGate } from './commands/gate.js';
import { registerImport } from './commands/import.js';
import { registerIncident } from './commands/incident.js';
import { registerImportLangfuse } from './commands/import-langfuse.js';
import { registerInit } from './commands/init.js';
import { registerLabels } from './commands/labels.js';
import { registerLabelRules } from './commands/label-rules.js';
import { registerLock } from './commands/lock.js';
import { registerLog } from './commands/log.js';
import { registerMonitor } from './commands/monitor.js';
import { registerOverride } from './commands/override.js';
import { registerPolicy } from './commands/policy.js';
import { registerPrompts } from './commands/prompts.js';
import { registerPull } from './commands/pull.js';
import { registerPush } from './commands/push.js';
import { registerRuns } from './commands/runs.js';
import { registerReview } from './commands/review.js';
import { registerResolve } from './commands/resolve.js';
import { registerRollout } from './commands/rollout.js';
import { registerServe } from './commands/serve.js';
import { registerShow } from './commands/show.js';
import { registerTraces } from './commands/traces.js';
import { registerStatus } from './commands/status.js';
import { registerVerify } from './commands/verify.js';
import { registerWebhook } from './commands/webhook.js';
import { DEFAULT_URL } from './config.js';
import { CommandContext, type RunState } from './context.js';
import { EXIT_OK, exitCodeFor, printError } from './errors.js';
import { colorEnabled, type CliIo } from './io.js';

const readVersion = (): string => {
  try {
    // Same relative path from src/ (tests) and dist/ (the binary).
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
};

/** `--json` anywhere before a `--` separator, known before commander has parsed anything. */
const wantsJson = (argv: readonly string[]): boolean => {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
};

export interface ProgramOptions {
  /** Receives the exit code of failures that are outcomes rather than exceptions. */
  readonly state?: RunState;
  /** Whether this run has --json, so commander's own usage errors can be held back for JSON output. */
  readonly json?: boolean;
}

/** Builds a fresh program for one run (commander keeps parsed state on the instance). */
export const createProgram = (io: CliIo, options: ProgramOptions = {}): Command => {
  const json = options.json === true;
  const program = new Command('promptops')
    .description(
      'promptops: a content-addressed prompt registry (push, pull, check, lock, log, diff, promote, roll back)',
    )
    .version(readVersion(), '-V, --version')
    .addOption(
      new Option('--url <url>', `server URL (env PROMPTOPS_URL, else promptops.yaml url, default ${DEFAULT_URL})`),
    )
    .addOption(new Option('--api-key <key>', 'API key (env PROMPTOPS_API_KEY, else <data-dir>/credentials.json)'))
    .addOption(
      new Option(
        '--data-dir <dir>',
        'where serve keeps its data and credentials (env PROMPTOPS_DATA_DIR, default .promptops)',
      ),
    )
    .addOption(
      new Option('--config <file>', 'project config (default: promptops.yaml in the working directory, if present)'),
    )
    .option('--json', 'machine-readable output on stdout (errors as { "error": … })')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // With --json the error goes out as JSON on stdout instead (see runCli).
      outputError: (text, write) => {
        if (!json) write(text);
      },
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
      getOutHasColors: () => colorEnabled(io.stdout, io.env),
      getErrHasColors: () => colorEnabled(io.stderr, io.env),
    })
    .showSuggestionAfterError(true)
    // Throw instead of process.exit, so runCli decides the exit code (and tests run in-process).
    .exitOverride();

  const ctx = new CommandContext(io, options.state ?? { exitCode: EXIT_OK });
  registerServe(program, ctx);
  registerInit(program, ctx);
  registerPush(program, ctx);
  registerPull(program, ctx);
  registerStatus(program, ctx);
  registerCheck(program, ctx);
  registerEval(program, ctx);
  registerImport(program, ctx);
  registerImportLangfuse(program, ctx);
  registerLock(program, ctx);
  registerPrompts(program, ctx);
  registerLog(program, ctx);
  registerShow(program, ctx);
  registerDiff(program, ctx);
  registerLabels(program, ctx);
  registerLabelRules(program, ctx);
  registerPolicy(program, ctx);
  registerReview(program, ctx);
  registerRollout(program, ctx);
  registerResolve(program, ctx);
  registerBlame(program, ctx);
  registerVerify(program, ctx);
  registerTraces(program, ctx);
  registerRuns(program, ctx);
  registerGate(program, ctx);
  registerDrift(program, ctx);
  registerIncident(program, ctx);
  registerMonitor(program, ctx);
  registerOverride(program, ctx);
  registerWebhook(program, ctx);
  registerAccess(program, ctx);
  return program;
};

/**
 * Runs the CLI on `argv` (without `node` and the script) and returns the exit code:
 * 0 success, 1 failure (or refused gate, conflict, verify problems), 2 usage error.
 */
export const runCli = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const state: RunState = { exitCode: EXIT_OK };
  const json = wantsJson(argv);
  const program = createProgram(io, { state, json });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (error) {
    // Help and --version arrive as CommanderErrors with exit code 0: nothing to report.
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT_OK;
    printError(io, error, json);
    return exitCodeFor(error);
  }
};
