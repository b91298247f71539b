import type { Command } from 'commander';
import { PROMPT_NAME_PATTERN, parseNameRef, parseRef, formatRef, type Ref } from '@promptops/core';
import { ApiClient } from './api-client.js';
import { resolveConfig, type GlobalFlags } from './config.js';
import { UsageError, parseArg } from './errors.js';
import type { CliIo } from './io.js';
import { createOutput, type Output } from './output.js';

/** What every command action gets: the io, the global options, an output and an API client. */

export interface GlobalOptions extends GlobalFlags {
  readonly json: boolean;
}

export interface RunState {
  exitCode: number;
}

export class CommandContext {
  readonly io: CliIo;
  readonly #state: RunState;

  constructor(io: CliIo, state: RunState) {
    this.io = io;
    this.#state = state;
  }

  options(command: Command): GlobalOptions {
    const all = command.optsWithGlobals<{ url?: string; apiKey?: string; dataDir?: string; json?: boolean }>();
    return { url: all.url, apiKey: all.apiKey, dataDir: all.dataDir, json: all.json === true };
  }

  output(command: Command): Output {
    return createOutput(this.io, this.options(command).json);
  }

  async client(command: Command): Promise<ApiClient> {
    const config = await resolveConfig(this.options(command), this.io.env, this.io.cwd);
    return new ApiClient({
      url: config.url,
      apiKey: config.apiKey,
      fetch: this.io.fetch,
      missingKeyFix:
        config.credentialsUrlMismatch === undefined
          ? `no API key was given: pass --api-key or set PROMPTOPS_API_KEY (or run where \`promptops serve\` wrote ${config.credentialsPath})`
          : `the key in ${config.credentialsPath} is for ${config.credentialsUrlMismatch}, not ${config.url}: pass --api-key or set PROMPTOPS_API_KEY for this server`,
    });
  }

  /** A failure that is an outcome, not an exception (verify problems, push conflicts): exit 1 after output. */
  fail(): void {
    this.#state.exitCode = 1;
  }
}

/** A prompt name argument; a malformed one is a usage error. */
export const promptNameArg = (text: string): string => {
  if (!PROMPT_NAME_PATTERN.test(text)) {
    throw new UsageError('invalid_name', `"${text}" is not a prompt name`, {
      fix: text.includes('@')
        ? 'this command takes a prompt name without @REF, e.g. support/greeter'
        : 'use lowercase letters, digits, "_", "." and "-", with "/" between folders, e.g. support/greeter',
    });
  }
  return text;
};

export const refArg = (text: string): string => formatRef(parseArg(() => parseRef(text)));

/** `NAME@REF`, or `NAME REF` as two arguments. */
export const nameRefArgs = (first: string, second: string | undefined): { name: string; ref: string } => {
  if (second !== undefined) {
    if (first.includes('@')) {
      throw new UsageError('invalid_name', `"${first}" already names a ref, and "${second}" is a second one`, {
        fix: 'write either NAME@REF or NAME REF',
      });
    }
    return { name: promptNameArg(first), ref: refArg(second) };
  }
  const parsed: { name: string; ref: Ref } = parseArg(() => parseNameRef(first));
  return { name: parsed.name, ref: formatRef(parsed.ref) };
};
