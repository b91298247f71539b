import { Argument, Option, type Command } from 'commander';
import { ACCESS_ROLES, type AccessRole, type CreatedKeyResult, type KeyRecord } from '@promptops/core';
import { accessApi } from '../access-api.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatTime, type Output } from '../output.js';
import { integerOption } from './options.js';
import { tenantArg } from './override.js';

/** `promptops keys|members|projects`: who may do what in a project (admins manage keys and members). */

const SHOWN_ONCE = 'This key is shown once and cannot be shown again: store it now (e.g. in a secret manager).';

const roleOption = (description: string): Option =>
  new Option('--role <role>', description).choices(ACCESS_ROLES).makeOptionMandatory();

const keyIdArg = (text: string): string => {
  if (!/^[0-9a-f]{16}$/.test(text)) {
    throw new UsageError('invalid_key_id', `"${text}" is not a key id`, {
      fix: 'a key id is 16 hex characters; `promptops keys list` shows them',
    });
  }
  return text;
};

const userArg = (text: string): string => {
  if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(text)) {
    throw new UsageError('invalid_user', `"${text}" is not a user name`, {
      fix: 'use lowercase letters, digits, "_", "." and "-" (at most 64), e.g. alice',
    });
  }
  return text;
};

const roleText = (key: KeyRecord): string =>
  (key.effectiveRole === null || key.effectiveRole === key.role
    ? key.role
    : `${key.role} (acts as ${key.effectiveRole})`) + ((key.tenant ?? null) === null ? '' : `, tenant ${key.tenant}`);

/** The secret on stdout (pipeable), the warning on stderr; with --json both in the document. */
const showSecret = (
  out: Output,
  headline: string,
  created: CreatedKeyResult,
  extra: Record<string, unknown> = {},
): void => {
  if (out.json) {
    out.data({ ...extra, key: created.key, secret: created.secret, notice: SHOWN_ONCE });
    return;
  }
  out.note(headline);
  out.line(created.secret);
  out.note(SHOWN_ONCE);
};

export const registerAccess = (program: Command, ctx: CommandContext): void => {
  const keys = program.command('keys').description("manage the project's API keys (admin)");

  keys
    .command('list')
    .description('list API keys: id, name, role, user, creator, created, last used, status (never the secrets)')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const list = await accessApi(await ctx.client(command)).listKeys();
      if (out.json) {
        out.data({ keys: list });
        return;
      }
      const c = out.colors;
      out.table(
        list.map((k) => [
          c.yellow(k.keyId),
          k.name,
          roleText(k),
          k.user ?? '-',
          k.createdBy,
          formatTime(k.createdAt),
          k.lastUsedAt === null ? 'never' : formatTime(k.lastUsedAt),
          k.status === 'active' ? c.green(k.status) : k.status === 'revoked' ? c.dim(k.status) : c.red(k.status),
        ]),
        ['key id', 'name', 'role', 'user', 'created by', 'created', 'last used', 'status'],
      );
    });

  keys
    .command('create')
    .description('create an API key; its secret is printed once')
    .argument('<name>', 'what the key is for, e.g. ci or checkout-service')
    .addOption(roleOption('the role the key acts with'))
    .option('--user <name>', 'a member the key acts as (actions are attributed to them; role at most theirs)', userArg)
    .option(
      '--tenant <tenant>',
      'limit the key to one tenant: its overrides, its part of the snapshot and feed, its traces (viewer or editor)',
      tenantArg,
    )
    .action(async (name: string, options: { role: AccessRole; user?: string; tenant?: string }, command: Command) => {
      const out = ctx.output(command);
      const created = await accessApi(await ctx.client(command)).createKey({
        name,
        role: options.role,
        user: options.user,
        tenant: options.tenant,
      });
      const as = created.key.user === null ? '' : `, acting as ${created.key.user}`;
      const scope = (created.key.tenant ?? null) === null ? '' : `, tenant ${created.key.tenant}`;
      showSecret(
        out,
        `created key ${created.key.keyId} "${created.key.name}" (${created.key.role}${as}${scope}):`,
        created,
      );
    });

  keys
    .command('rotate')
    .description('a new secret for the same name, role and user; the old key stops now, or after --grace')
    .argument('<keyId>', 'the key id (promptops keys list)', keyIdArg)
    .option(
      '--grace <seconds>',
      'keep the old key working this long (at most 86400)',
      integerOption('--grace', 0, 86_400),
    )
    .action(async (keyId: string, options: { grace?: number }, command: Command) => {
      const out = ctx.output(command);
      const rotated = await accessApi(await ctx.client(command)).rotateKey(keyId, { graceSeconds: options.grace });
      const old =
        rotated.previous.status === 'expiring'
          ? `the old key ${keyId} works until ${formatTime(rotated.previous.revokedAt ?? '')}`
          : `the old key ${keyId} no longer works`;
      showSecret(out, `rotated "${rotated.key.name}": new key ${rotated.key.keyId}; ${old}:`, rotated, {
        previous: rotated.previous,
      });
    });

  keys
    .command('revoke')
    .description('revoke a key: it stops working at once, on every replica')
    .argument('<keyId>', 'the key id (promptops keys list)', keyIdArg)
    .action(async (keyId: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const result = await accessApi(await ctx.client(command)).revokeKey(keyId);
      if (out.json) {
        out.data(result);
        return;
      }
      out.line(
        result.changed
          ? `revoked key ${keyId} "${result.key.name}"`
          : `key ${keyId} "${result.key.name}" was already revoked`,
      );
    });

  const members = program.command('members').description("manage the project's members and their roles");

  members
    .command('list')
    .description('list members and their roles')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const list = await accessApi(await ctx.client(command)).listMembers();
      if (out.json) {
        out.data({ members: list });
        return;
      }
      if (list.length === 0) {
        out.line('no members');
        return;
      }
      out.table(
        list.map((m) => [m.name, m.displayName ?? '', m.role, m.createdBy, formatTime(m.createdAt)]),
        ['name', 'display name', 'role', 'added by', 'added'],
      );
    });

  members
    .command('add')
    .description('add a user to the project with a role (admin)')
    .argument('<name>', 'user name, e.g. alice', userArg)
    .addOption(roleOption("the member's role"))
    .option('--display-name <text>', 'how the project shows the user, e.g. "Alice Liddell"')
    .action(async (name: string, options: { role: AccessRole; displayName?: string }, command: Command) => {
      const out = ctx.output(command);
      const member = await accessApi(await ctx.client(command)).addMember({
        name,
        role: options.role,
        displayName: options.displayName,
      });
      if (out.json) out.data(member);
      else out.line(`added ${member.name} as ${member.role}`);
    });

  members
    .command('set-role')
    .description("change a member's role; a lower role caps their keys at once (admin)")
    .argument('<name>', 'user name', userArg)
    .addArgument(new Argument('<role>', 'the new role').choices(ACCESS_ROLES))
    .action(async (name: string, role: AccessRole, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const member = await accessApi(await ctx.client(command)).updateMember(name, { role });
      if (out.json) out.data(member);
      else out.line(`${member.name} is now ${member.role}`);
    });

  members
    .command('remove')
    .description('remove a member; the keys acting as them stop working (admin)')
    .argument('<name>', 'user name', userArg)
    .action(async (name: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const removed = await accessApi(await ctx.client(command)).removeMember(name);
      if (out.json) out.data({ removed });
      else out.line(`removed ${removed.name} (${removed.role})`);
    });

  const projects = program
    .command('projects')
    .description('list or create projects (admin keys of the server\'s "default" project)');

  projects
    .command('list')
    .description('list every project on the server')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const list = await accessApi(await ctx.client(command)).listProjects();
      if (out.json) {
        out.data({ projects: list });
        return;
      }
      out.table(
        list.map((p) => [String(p.id), p.name, formatTime(p.createdAt)]),
        ['id', 'name', 'created'],
      );
    });

  projects
    .command('create')
    .description('create a project; its first admin key is printed once')
    .argument('<name>', 'project name: lowercase letters, digits, "_" and "-"')
    .action(async (name: string, _options: unknown, command: Command) => {
      if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
        throw new UsageError('invalid_project', `"${name}" is not a project name`, {
          fix: 'use lowercase letters, digits, "_" and "-" (at most 63), e.g. support-team',
        });
      }
      const out = ctx.output(command);
      const created = await accessApi(await ctx.client(command)).createProject(name);
      showSecret(out, `created project ${created.project.name}; its admin key ${created.key.keyId}:`, created, {
        project: created.project,
      });
    });
};
