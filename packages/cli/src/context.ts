import type { Command } from 'commander';
import { resolve } from 'node:path';
import {
  LOCKFILE_NAME,
  PROMPT_NAME_PATTERN,
  PromptopsError,
  assertLabelName,
  parseNameRef,
  parseRef,
  formatRef,
  type Ref,
} from '@promptops/core';
import { ApiClient } from './api-client.js';
import { resolveConfig, type GlobalFlags } from './config.js';
import { UsageError, parseArg } from './errors.js';
import { DEFAULT_PROMPTS_DIR, displayPath } from './files.js';
import type { CliIo } from './io.js';
import { createOutput, type Output } from './output.js';
import { loadProjectConfig, type ProjectConfig } from './project-config.js';

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
  #projectConfig: Promise<ProjectConfig | undefined> | undefined;

  constructor(io: CliIo, state: RunState) {
    this.io = io;
    this.#state = state;
  }

  options(command: Command): GlobalOptions {
    const all = command.optsWithGlobals<{
      url?: string;
      apiKey?: string;
      dataDir?: string;
      config?: string;
      json?: boolean;
    }>();
    return { url: all.url, apiKey: all.apiKey, dataDir: all.dataDir, config: all.config, json: all.json === true };
  }

  /** `promptops.yaml` (or `--config PATH`), read once per run; undefined when there is none. */
  projectConfig(command: Command): Promise<ProjectConfig | undefined> {
    this.#projectConfig ??= loadProjectConfig(this.options(command).config, this.io.cwd);
    return this.#projectConfig;
  }

  /** The lock file: `flag` (relative to the working directory), else promptops.yaml's `lock`, else `promptops.lock`. */
  async lockPath(
    command: Command,
    flag: string | undefined,
  ): Promise<{ path: string; display: string; explicit: boolean }> {
    const explicit = flag !== undefined && flag !== '';
    const path = explicit
      ? resolve(this.io.cwd, flag)
      : ((await this.projectConfig(command))?.lock ?? resolve(this.io.cwd, LOCKFILE_NAME));
    return { path, display: displayPath(this.io.cwd, path), explicit };
  }

  /** Absolute folders searched when no paths are given: promptops.yaml's `prompts`, else `prompts/`. */
  async promptDirs(command: Command): Promise<readonly string[]> {
    return (await this.projectConfig(command))?.prompts ?? [resolve(this.io.cwd, DEFAULT_PROMPTS_DIR)];
  }

  output(command: Command): Output {
    return createOutput(this.io, this.options(command).json);
  }

  async client(command: Command): Promise<ApiClient> {
    const project = await this.projectConfig(command);
    const config = await resolveConfig(this.options(command), this.io.env, this.io.cwd, project?.url);
    const client = new ApiClient({
      url: config.url,
      apiKey: config.apiKey,
      fetch: this.io.fetch,
      missingKeyFix:
        config.credentialsUrlMismatch === undefined
          ? `no API key was given: pass --api-key or set PROMPTOPS_API_KEY (or run where \`promptops serve\` wrote ${config.credentialsPath})`
          : `the key in ${config.credentialsPath} is for ${config.credentialsUrlMismatch}, not ${config.url}: pass --api-key or set PROMPTOPS_API_KEY for this server`,
    });
    if (project?.project !== undefined) await checkProject(client, project);
    return client;
  }

  /** A failure that is an outcome, not an exception (verify problems, push conflicts): exit 1 after output. */
  fail(): void {
    this.#state.exitCode = 1;
  }
}

/**
 * A key belongs to one project; promptops.yaml says which one the files belong to. Pushing a repo's
 * prompts into another team's project with the wrong key would be silent, so it is refused here.
 */
const checkProject = async (client: ApiClient, config: ProjectConfig): Promise<void> => {
  const me = await client.me();
  if (me.project.name !== config.project) {
    throw new PromptopsError(
      'invalid',
      'project_mismatch',
      `${config.display} names project "${config.project}", but the API key belongs to project "${me.project.name}"`,
      {
        fix: `use a key of project "${config.project}" (--api-key or PROMPTOPS_API_KEY), or correct project: in ${config.display}`,
        details: { file: config.display, expected: config.project, actual: me.project.name },
      },
    );
  }
};

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

/** A label name argument (`production`, `latest`); one that reads as a version or a sha is a usage error. */
export const labelArg = (text: string): string => {
  parseArg(() => assertLabelName(text));
  return text;
};

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
