import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import {
  TENANT_PATTERN,
  diffFields,
  diffPrompts,
  shortSha,
  type JsonValue,
  type OverrideParams,
  type PromptContent,
  type PromptDiff,
} from '@promptops/core';
import type { ApiClient } from '../api-client.js';
import { labelArg, promptNameArg, refArg, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatTime, formatValue, type Output } from '../output.js';
import { overrideApi, type OverrideRecord, type OverrideWithEffective } from '../override-api.js';

/** `promptops override …`: a tenant's wording layered onto the shared prompt (docs/decisions/tenants.md). */

const EXIT_CODES =
  'Exit codes: 0 done, 1 refused or failed (unknown slot, protected label, no override, server), 2 usage.';

export const tenantArg = (text: string): string => {
  if (!TENANT_PATTERN.test(text)) {
    throw new UsageError('usage.invalid_tenant', `"${text}" is not a tenant id`, {
      fix: 'a tenant id is letters, digits, "_", "." and "-" (at most 128), starting with a letter or digit, e.g. acme',
    });
  }
  return text;
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const splitPair = (text: string, option: string, form: string): [string, string] => {
  const at = text.indexOf('=');
  if (at <= 0)
    throw new UsageError('usage.invalid_argument', `${option} takes ${form}, got "${text}"`, {
      fix: `e.g. ${option} ${form}`,
    });
  return [text.slice(0, at), text.slice(at + 1)];
};

/** A slot's text: the file's content when the value names a file, else the value itself. */
const slotText = (value: string, cwd: string): string => {
  const path = resolve(cwd, value);
  return value !== '' && existsSync(path) && statSync(path).isFile()
    ? readFileSync(path, 'utf8').replace(/\n$/, '')
    : value;
};

/** JSON when the value parses as JSON (numbers, booleans, objects), else the text. */
const variableValue = (value: string): JsonValue => {
  try {
    return JSON.parse(value) as JsonValue;
  } catch {
    return value;
  }
};

const paramOf = (text: string, params: Record<string, unknown>): void => {
  const [key, value] = splitPair(text, '--param', 'temperature=0.1');
  const name = key === 'max_tokens' ? 'maxTokens' : key;
  if (name === 'model') params[name] = value;
  else if (name === 'temperature' || name === 'maxTokens') {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) {
      throw new UsageError('usage.invalid_argument', `--param ${key} takes a number, got "${value}"`);
    }
    params[name] = number;
  } else {
    throw new UsageError('usage.invalid_argument', `--param takes temperature, maxTokens or model, not "${key}"`, {
      fix: 'an override may change only temperature, maxTokens (max_tokens) and model',
    });
  }
};

const overrideLine = (record: OverrideRecord): string =>
  `v${record.version} ${shortSha(record.sha)} (${record.baseSha === null ? `follows ${record.label}` : `pinned to ${shortSha(record.baseSha)} for ${record.label}`})`;

const colorLine = (line: string, out: Output): string => {
  const c = out.colors;
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('===')) return c.bold(line);
  if (line.startsWith('+')) return c.green(line);
  if (line.startsWith('-')) return c.red(line);
  if (line.startsWith('@@')) return c.cyan(line);
  return line;
};

/** A content diff as `promptops diff` prints it: the body's patch, then changed fields. */
export const printContentDiff = (diff: PromptDiff, out: Output, same: string): void => {
  const c = out.colors;
  if (diff.identical) {
    out.line(same);
    return;
  }
  const body = diff.unified.trimEnd();
  if (body.includes('\n@@')) for (const line of body.split('\n')) out.line(colorLine(line, out));
  if (diff.fields.length > 0) {
    out.line();
    out.line(c.bold('fields:'));
    for (const field of diff.fields) {
      out.line(`  ${field.path}: ${c.red(formatValue(field.from))} -> ${c.green(formatValue(field.to))}`);
    }
  }
};

/** The effective body with `T ` before every line the tenant's override supplies, then overridden fields. */
export const printEffective = (base: PromptContent, effective: PromptContent, out: Output): void => {
  const c = out.colors;
  for (const line of diffPrompts(base, effective).lines) {
    if (line.op === 'add') out.line(c.magenta(`T ${line.text}`));
    else if (line.op === 'equal') out.line(`  ${line.text}`);
  }
  for (const field of diffFields(base, effective)) {
    out.line(c.magenta(`T ${field.path}: ${formatValue(field.to)}`));
  }
};

/** The tenant's effective prompt on `label` and its base content, or null without an override. */
export const tenantEffective = async (
  client: ApiClient,
  name: string,
  tenant: string,
  label: string,
): Promise<(OverrideWithEffective & { base: PromptContent }) | null> => {
  const found = await overrideApi(client).find(name, tenant, label);
  if (found === null) return null;
  const base = await client.getVersion(name, found.effective.baseSha);
  return { ...found, base: base.content };
};

export const registerOverride = (program: Command, ctx: CommandContext): void => {
  const override = program
    .command('override')
    .description("a tenant's override of a prompt: slot text, variable defaults and a few params, versioned")
    .addHelpText(
      'after',
      `
Examples:
  promptops override set greeter --tenant acme --slot greeting=acme-greeting.txt --var tone=formal -m "acme greets formally"
  promptops override set greeter --tenant globex --slot greeting="Guten Tag" --param temperature=0.2 -m "German"
  promptops override show greeter --tenant acme
  promptops show greeter@production --tenant acme
  promptops override rollback greeter --tenant globex --to 1

${EXIT_CODES}`,
    );

  override
    .command('set')
    .description("set a tenant's override (a new version; the same override again changes nothing)")
    .argument('<name>', 'prompt name')
    .requiredOption('--tenant <tenant>', 'tenant id', tenantArg)
    .option(
      '--slot <name=file|text>',
      'replacement text for a slot: a file to read, else the text (repeatable)',
      collect,
    )
    .option('--var <name=value>', 'a default for a declared variable (JSON, else text; repeatable)', collect)
    .option('--param <key=value>', 'temperature, maxTokens (max_tokens) or model (repeatable)', collect)
    .option('-l, --label <label>', 'the label whose resolutions it serves (default production)')
    .option('--base <ref>', 'pin a base version (v17 or a sha) instead of following the label')
    .requiredOption('-m, --message <text>', 'why')
    .action(
      async (
        nameText: string,
        options: {
          tenant: string;
          slot?: string[];
          var?: string[];
          param?: string[];
          label?: string;
          base?: string;
          message: string;
        },
        command: Command,
      ) => {
        const name = promptNameArg(nameText);
        const slots: Record<string, string> = {};
        for (const text of options.slot ?? []) {
          const [slot, value] = splitPair(text, '--slot', 'NAME=FILE|TEXT');
          slots[slot] = slotText(value, ctx.io.cwd);
        }
        const variables: Record<string, JsonValue> = {};
        for (const text of options.var ?? []) {
          const [variable, value] = splitPair(text, '--var', 'NAME=VALUE');
          variables[variable] = variableValue(value);
        }
        const params: Record<string, unknown> = {};
        for (const text of options.param ?? []) paramOf(text, params);
        if (Object.keys(slots).length + Object.keys(variables).length + Object.keys(params).length === 0) {
          throw new UsageError('usage.invalid_argument', 'nothing to override: give --slot, --var or --param', {
            fix: 'e.g. --slot greeting="Good day" (to go back to the shared prompt, roll back or set what it had)',
          });
        }
        const body = {
          override: { slots, variables, params: params as OverrideParams },
          message: options.message,
          ...(options.label === undefined ? {} : { label: labelArg(options.label) }),
          ...(options.base === undefined ? {} : { base: refArg(options.base) }),
        };
        const out = ctx.output(command);
        const result = await overrideApi(await ctx.client(command)).set(name, options.tenant, body);
        if (out.json) {
          out.data(result);
          return;
        }
        const verb = result.created ? 'set' : 'unchanged:';
        out.line(`${verb} ${options.tenant}'s override of ${name}: ${overrideLine(result.override)}`);
        out.line(`see it: promptops show ${name}@${result.override.label} --tenant ${options.tenant}`);
      },
    );

  override
    .command('show')
    .description("a tenant's current override and the shas of the effective prompt it gives")
    .argument('<name>', 'prompt name')
    .requiredOption('--tenant <tenant>', 'tenant id', tenantArg)
    .option('-l, --label <label>', "on this label instead of the override's own")
    .action(async (nameText: string, options: { tenant: string; label?: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const label = options.label === undefined ? undefined : labelArg(options.label);
      const out = ctx.output(command);
      const result = await overrideApi(await ctx.client(command)).get(name, options.tenant, label);
      if (out.json) {
        out.data(result);
        return;
      }
      const { override: record, effective } = result;
      out.line(`${out.colors.bold(`${name} for ${record.tenant}`)} override ${overrideLine(record)}`);
      out.table([
        ['author', record.author],
        ['date', formatTime(record.createdAt)],
        ['message', record.message],
        ['label', effective.label],
        ['effective sha', effective.sha],
        ['base sha', effective.baseSha],
        ['override sha', effective.overrideSha ?? '(none)'],
      ]);
      out.line();
      out.line(stringify(record.override).trimEnd());
    });

  override
    .command('log')
    .description("every version of a tenant's override, newest first")
    .argument('<name>', 'prompt name')
    .requiredOption('--tenant <tenant>', 'tenant id', tenantArg)
    .action(async (nameText: string, options: { tenant: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const out = ctx.output(command);
      const versions = await overrideApi(await ctx.client(command)).history(name, options.tenant);
      if (out.json) {
        out.data({ versions });
        return;
      }
      out.table(
        versions.map((v) => [
          `v${v.version}`,
          out.colors.yellow(shortSha(v.sha)),
          v.baseSha === null ? v.label : `${v.label}@${shortSha(v.baseSha)}`,
          v.author,
          formatTime(v.createdAt),
          v.message,
        ]),
      );
    });

  override
    .command('diff')
    .description("what a tenant's override changes: the shared prompt against the tenant's effective prompt")
    .argument('<name>', 'prompt name')
    .requiredOption('--tenant <tenant>', 'tenant id', tenantArg)
    .option('-l, --label <label>', "on this label instead of the override's own")
    .action(async (nameText: string, options: { tenant: string; label?: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const label = options.label === undefined ? undefined : labelArg(options.label);
      const out = ctx.output(command);
      const client = await ctx.client(command);
      const result = await overrideApi(client).get(name, options.tenant, label);
      const base = await client.getVersion(name, result.effective.baseSha);
      const diff = diffPrompts(base.content, result.effective.content, {
        from: `${name}@${result.effective.label}`,
        to: `${name}@${result.effective.label} for ${options.tenant}`,
      });
      if (out.json) {
        out.data({ ...result, diff });
        return;
      }
      printContentDiff(diff, out, `${options.tenant}'s override of ${name} changes nothing`);
    });

  override
    .command('rollback')
    .description("roll a tenant's override back to an earlier version (appended as a new version)")
    .argument('<name>', 'prompt name')
    .requiredOption('--tenant <tenant>', 'tenant id', tenantArg)
    .requiredOption('--to <version>', 'the override version to restore, e.g. 1', (text: string) => {
      if (!/^v?[1-9][0-9]{0,9}$/.test(text))
        throw new UsageError('usage.invalid_argument', '--to takes a version, e.g. 1');
      return Number(text.replace(/^v/, ''));
    })
    .option('-m, --message <text>', 'why')
    .action(async (nameText: string, options: { tenant: string; to: number; message?: string }, command: Command) => {
      const name = promptNameArg(nameText);
      const out = ctx.output(command);
      const result = await overrideApi(await ctx.client(command)).rollback(name, options.tenant, {
        version: options.to,
        ...(options.message === undefined ? {} : { message: options.message }),
      });
      if (out.json) {
        out.data(result);
        return;
      }
      out.line(
        result.created
          ? `rolled ${options.tenant}'s override of ${name} back to v${options.to}: now ${overrideLine(result.override)}`
          : `${options.tenant}'s override of ${name} already is v${options.to}'s: nothing changed`,
      );
    });

  override
    .command('list')
    .description('every tenant with an override of the prompt')
    .argument('<name>', 'prompt name')
    .action(async (nameText: string, _options: unknown, command: Command) => {
      const name = promptNameArg(nameText);
      const out = ctx.output(command);
      const tenants = await overrideApi(await ctx.client(command)).list(name);
      if (out.json) {
        out.data({ tenants });
        return;
      }
      if (tenants.length === 0) {
        out.line(`no tenant has an override of ${name}`);
        return;
      }
      out.table(
        tenants.map((t) => [
          t.tenant,
          `v${t.version}`,
          out.colors.yellow(shortSha(t.sha)),
          t.baseSha === null ? t.label : `${t.label}@${shortSha(t.baseSha)}`,
          t.author,
          formatTime(t.createdAt),
        ]),
      );
    });
};
