import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { PolicyRecord, PolicySpec } from '@promptops/core';
import { labelArg, promptNameArg, type CommandContext } from '../context.js';
import { formatTime, type Output } from '../output.js';
import { integerOption } from './options.js';

/** `promptops policy`, `owners`, `teams`: who may move a label, and who may approve. Changes need admin. */

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--suite NAME` or `--suite NAME:0.9` (a required pass rate). */
const suiteOf = (text: string): { suite: string; passRate?: number } => {
  const [suite = '', rate] = text.split(':');
  if (rate === undefined) return { suite };
  const passRate = Number(rate);
  if (!(passRate >= 0 && passRate <= 1))
    throw new InvalidArgumentError(`--suite ${text}: the pass rate must be from 0 to 1`);
  return { suite, passRate };
};

const describe = (policy: PolicyRecord): string => {
  if (!policy.protected) return 'not protected';
  const who = [
    policy.owners.length > 0 ? `owners ${policy.owners.join(', ')}` : '',
    policy.codeOwners ? "the prompt's code owners" : '',
  ].filter(Boolean);
  const parts = [
    `${policy.approvals} approval${policy.approvals === 1 ? '' : 's'} by ${policy.minRole}+${who.length > 0 ? ` among ${who.join(' and ')}` : ''}`,
    policy.authorMayApprove ? 'the author may approve' : 'not by the author',
  ];
  if (policy.tenantSelfService) parts.push("tenant keys may change their own tenant's overrides");
  if (policy.suites.length > 0) {
    parts.push(
      `suites ${policy.suites.map((s) => (s.passRate === undefined ? s.suite : `${s.suite} (${s.passRate})`)).join(', ')}`,
    );
  }
  return `protected: ${parts.join('; ')}`;
};

const printPolicies = (policies: readonly PolicyRecord[], out: Output): void => {
  if (policies.length === 0) {
    out.line('no policies: every label moves by promote (deployer)');
    return;
  }
  out.table(
    policies.map((p) => [out.colors.green(p.label), p.pattern, describe(p), p.updatedBy, formatTime(p.updatedAt)]),
    ['label', 'prompts', 'policy', 'set by', 'when'],
  );
};

export const registerPolicy = (program: Command, ctx: CommandContext): void => {
  const policy = program.command('policy').description('label policies: protected labels, approvals, eval suites');

  policy
    .command('set')
    .description(
      'set the policy of a label (for every prompt, or those --prompts matches); omitted options take defaults',
    )
    .argument('<label>', 'the label, e.g. production')
    .option('--approvals <n>', 'approvals needed (default 1)', integerOption('approvals', 0, 10))
    .option(
      '--suite <name[:passRate]>',
      'an eval suite that must pass, for each prompt a suite of that name tests (repeatable)',
      (v: string, p: string[] = []) => collect(v, p),
    )
    .option('--owners <user-or-team>', 'only these may approve (repeatable)', (v: string, p: string[] = []) =>
      collect(v, p),
    )
    .option('--code-owners', "only the prompt's owners (promptops owners) may approve")
    .option('--min-role <role>', 'the lowest role that may approve: reviewer, deployer or admin (default reviewer)')
    .option('--author-may-approve', 'let the author approve their own change (off by default)')
    .option(
      '--tenant-self-service',
      "let a tenant-scoped key change its own tenant's override on this label (customer self-service; off by default)",
    )
    .option('--unprotect', 'the label moves by promote again (keeps a record of the policy)')
    .option('--prompts <pattern>', "narrow the policy to prompts matching a name or glob ('support/**')", '*')
    .action(
      async (
        labelText: string,
        options: {
          approvals?: number;
          suite?: string[];
          owners?: string[];
          codeOwners?: boolean;
          minRole?: string;
          authorMayApprove?: boolean;
          tenantSelfService?: boolean;
          unprotect?: boolean;
          prompts: string;
        },
        command: Command,
      ) => {
        const label = labelArg(labelText);
        const body: Partial<PolicySpec> = {
          pattern: options.prompts,
          protected: options.unprotect !== true,
          ...(options.approvals === undefined ? {} : { approvals: options.approvals }),
          ...(options.suite === undefined ? {} : { suites: options.suite.map(suiteOf) }),
          ...(options.owners === undefined ? {} : { owners: options.owners }),
          ...(options.codeOwners === true ? { codeOwners: true } : {}),
          ...(options.minRole === undefined ? {} : { minRole: options.minRole as PolicySpec['minRole'] }),
          ...(options.authorMayApprove === true ? { authorMayApprove: true } : {}),
          ...(options.tenantSelfService === true ? { tenantSelfService: true } : {}),
        };
        const out = ctx.output(command);
        const result = await (await ctx.client(command)).setPolicy(label, body);
        if (out.json) {
          out.data(result);
          return;
        }
        out.line(`${out.colors.green(label)} (${result.policy.pattern}): ${describe(result.policy)}`);
      },
    );

  policy
    .command('show')
    .description("a label's policies; with --prompt, the one that governs that prompt")
    .argument('<label>', 'the label')
    .option('--prompt <name>', 'the prompt to resolve the policy for')
    .action(async (labelText: string, options: { prompt?: string }, command: Command) => {
      const label = labelArg(labelText);
      const prompt = options.prompt === undefined ? undefined : promptNameArg(options.prompt);
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).getPolicies(label, prompt);
      if (out.json) {
        out.data(result);
        return;
      }
      printPolicies(result.policies, out);
      if (prompt !== undefined) {
        out.line();
        out.line(
          `${prompt}: ${result.effective ? `${describe(result.effective)} (from '${result.effective.pattern}')` : 'not protected'}`,
        );
      }
    });

  policy
    .command('list')
    .description('every label policy of the project')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const { policies } = await (await ctx.client(command)).listPolicies();
      if (out.json) {
        out.data({ policies });
        return;
      }
      printPolicies(policies, out);
    });

  policy
    .command('delete')
    .description("delete a label's policy for a pattern")
    .argument('<label>', 'the label')
    .option('--prompts <pattern>', 'the pattern of the policy to delete', '*')
    .action(async (labelText: string, options: { prompts: string }, command: Command) => {
      const label = labelArg(labelText);
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).deletePolicy(label, options.prompts);
      if (out.json) out.data({ label, pattern: options.prompts, ...result });
      else out.line(`deleted the policy of ${label} for ${options.prompts}`);
    });

  const owners = program
    .command('owners')
    .description('prompt owners by name pattern, like CODEOWNERS (most specific pattern wins)');
  owners
    .command('set')
    .description('set the owners (users or teams) of the prompts a pattern matches')
    .argument('<pattern>', "a prompt name or glob, e.g. 'support/**'")
    .argument('<owners...>', 'user or team names')
    .action(async (pattern: string, names: string[], _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const rule = await (await ctx.client(command)).setOwners(pattern, names);
      if (out.json) out.data(rule);
      else out.line(`${rule.pattern}: ${rule.owners.join(', ')}`);
    });
  owners
    .command('list')
    .description('every owners rule')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).listOwners();
      if (out.json) out.data(result);
      else if (result.owners.length === 0) out.line('no owners rules');
      else
        out.table(
          result.owners.map((o) => [o.pattern, o.owners.join(', '), o.updatedBy]),
          ['pattern', 'owners', 'set by'],
        );
    });
  owners
    .command('delete')
    .description('delete the owners rule of a pattern')
    .argument('<pattern>', 'the pattern')
    .action(async (pattern: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).deleteOwners(pattern);
      if (out.json) out.data({ pattern, ...result });
      else out.line(`deleted the owners of ${pattern}`);
    });

  const teams = program
    .command('teams')
    .description('teams: names that stand for their members in owners and policies');
  teams
    .command('set')
    .description("set a team's members")
    .argument('<team>', 'team name')
    .argument('<members...>', 'user names')
    .action(async (team: string, members: string[], _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const record = await (await ctx.client(command)).setTeam(team, members);
      if (out.json) out.data(record);
      else out.line(`${record.team}: ${record.members.join(', ')}`);
    });
  teams
    .command('list')
    .description('every team')
    .action(async (_options: unknown, command: Command) => {
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).listTeams();
      if (out.json) out.data(result);
      else if (result.teams.length === 0) out.line('no teams');
      else
        out.table(
          result.teams.map((t) => [t.team, t.members.join(', '), t.updatedBy]),
          ['team', 'members', 'set by'],
        );
    });
  teams
    .command('delete')
    .description('delete a team')
    .argument('<team>', 'team name')
    .action(async (team: string, _options: unknown, command: Command) => {
      const out = ctx.output(command);
      const result = await (await ctx.client(command)).deleteTeam(team);
      if (out.json) out.data({ team, ...result });
      else out.line(`deleted team ${team}`);
    });
};
