/**
 * Everything the CLI touches of the outside world, passed in rather than read from `process`, so tests
 * run the whole program in-process with captured output, their own env and working directory.
 */

export interface Writer {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

export interface CliIo {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof globalThis.fetch;
  /** Stops `serve` when aborted (tests); without it, `serve` stops on SIGINT/SIGTERM. */
  readonly signal?: AbortSignal;
}

export const nodeIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});

/** Colors only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export const colorEnabled = (writer: Writer, env: CliIo['env']): boolean =>
  writer.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
