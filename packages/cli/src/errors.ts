import { CommanderError } from 'commander';
import { PromptopsError, formatIssues, type ErrorOptions } from '@promptops/core';
import type { CliIo } from './io.js';

/** Exit codes, part of the public contract. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake in how the command was called (bad ref syntax, bad option value): exits 2, not 1. */
export class UsageError extends PromptopsError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super('invalid', code, message, options);
    this.name = 'UsageError';
  }

  /** Re-labels a domain error about command-line input (e.g. `parseRef`) as a usage error. */
  static from(error: PromptopsError): UsageError {
    return new UsageError(error.code, error.message, {
      ...(error.fix === undefined ? {} : { fix: error.fix }),
      ...(error.issues === undefined ? {} : { issues: error.issues }),
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
}

/** Runs `parse` on command-line text; a domain validation error becomes a usage error (exit 2). */
export const parseArg = <T>(parse: () => T): T => {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PromptopsError && error.kind === 'invalid') throw UsageError.from(error);
    throw error;
  }
};

/** Commander reports help and version as "errors" with exit code 0; everything else it reports is usage. */
export const exitCodeFor = (error: unknown): number => {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof UsageError) return EXIT_USAGE;
  return EXIT_FAILURE;
};

export interface ErrorJson {
  readonly code: string;
  readonly message: string;
  readonly fix?: string;
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
  readonly details?: Readonly<Record<string, unknown>>;
}

const COMMANDER_FIX = 'run `promptops --help` (or `promptops <command> --help`) for usage';

/** Any thrown value as the public error shape. Unknown errors keep their message but no internals. */
export const toErrorJson = (error: unknown): ErrorJson => {
  if (error instanceof PromptopsError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.fix === undefined ? {} : { fix: error.fix }),
      ...(error.issues === undefined ? {} : { issues: error.issues }),
      ...(error.details === undefined ? {} : { details: error.details }),
    };
  }
  if (error instanceof CommanderError) {
    return {
      code: error.code.replace(/^commander\./, 'usage.'),
      message: error.message.replace(/^error: /, ''),
      fix: COMMANDER_FIX,
    };
  }
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
};

/**
 * Prints an error: `{ "error": … }` on stdout with --json (scripts read one stream), otherwise
 * `error: <message>` and `fix: <fix>` on stderr. Commander already printed its own usage errors.
 */
export const printError = (io: CliIo, error: unknown, json: boolean): void => {
  const body = toErrorJson(error);
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: body }, null, 2)}\n`);
    return;
  }
  if (error instanceof CommanderError) return;
  let text = `error: ${body.message}\n`;
  // Core messages usually embed the issues already; list them only when they would be lost.
  const issues = body.issues ?? [];
  if (issues.length > 0 && !issues.every((issue) => body.message.includes(issue.message))) {
    text += `${formatIssues(issues)}\n`;
  }
  if (body.fix !== undefined) text += `fix: ${body.fix}\n`;
  io.stderr.write(text);
};
