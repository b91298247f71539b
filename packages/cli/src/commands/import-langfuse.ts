import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  LANGFUSE_LATEST,
  PromptopsError,
  formatIssues,
  fromLangfuse,
  isPromptopsError,
  langfuseCommitMessage,
  type FieldIssue,
  type LangfusePrompt,
  type PromptContent,
} from '@promptops/core';
import type { CommandContext } from '../context.js';

/**
 * `promptops import langfuse`: every prompt, every version in order and the labels, from a Langfuse
 * server's public API or an export file. Versions keep their Langfuse number in a commit trailer; a
 * version whose content promptops already holds is not pushed again, and a label already in place is not
 * moved, so a second run changes nothing.
 */

interface LangfuseSource {
  readonly where: string;
  /** Each prompt's versions, oldest first. */
  load(progress: (text: string) => void): Promise<LangfusePrompt[][]>;
}

const unreachable = (what: string, detail: string): PromptopsError =>
  new PromptopsError('unavailable', 'langfuse_unreachable', `Langfuse: ${what}: ${detail}`, {
    fix: 'check --host, --public-key and --secret-key (Basic auth: public:secret), or import an export with --file',
  });

const apiSource = (url: string, publicKey: string, secretKey: string): LangfuseSource => {
  const base = url.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;
  const getJson = async <T>(path: string): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { headers: { authorization, accept: 'application/json' } });
    } catch (error) {
      throw unreachable(`GET ${path}`, (error as Error).message);
    }
    const text = await response.text();
    if (!response.ok) throw unreachable(`GET ${path}`, `HTTP ${response.status} ${text.slice(0, 300)}`);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw unreachable(`GET ${path}`, 'the answer is not JSON');
    }
  };
  return {
    where: base,
    async load(progress) {
      const names: { name: string; versions: number[] }[] = [];
      for (let page = 1, pages = 1; page <= pages; page += 1) {
        const answer = await getJson<{
          data: { name: string; versions: number[] }[];
          meta: { totalPages: number };
        }>(`/api/public/v2/prompts?page=${page}&limit=100`);
        names.push(...answer.data);
        pages = answer.meta.totalPages;
      }
      const total = names.reduce((sum, p) => sum + p.versions.length, 0);
      let read = 0;
      const prompts: LangfusePrompt[][] = [];
      for (const { name, versions } of names) {
        const list: LangfusePrompt[] = [];
        for (const version of [...versions].sort((a, b) => a - b)) {
          list.push(
            await getJson<LangfusePrompt>(`/api/public/v2/prompts/${encodeURIComponent(name)}?version=${version}`),
          );
          read += 1;
          progress(`reading Langfuse: ${read}/${total} versions`);
        }
        prompts.push(list);
      }
      return prompts;
    },
  };
};

const invalidExport = (file: string, message: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_langfuse_export', `${file}: ${message}`, {
    fix: 'give a JSON array of prompt versions as GET /api/public/v2/prompts/{name} returns them (or { "data": [...] })',
  });

/** An export: the versions as Langfuse's API returns them, in a JSON array or `{ "data": [...] }`. */
const fileSource = (file: string, path: string): LangfuseSource => ({
  where: file,
  async load() {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw invalidExport(file, (error as Error).message);
    }
    const items = Array.isArray(parsed) ? parsed : (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(items)) throw invalidExport(file, 'expected a JSON array of prompt versions');
    const byName = new Map<string, LangfusePrompt[]>();
    items.forEach((item: unknown, index) => {
      const p = item as Partial<LangfusePrompt> | null;
      if (p === null || typeof p !== 'object' || typeof p.name !== 'string' || !Number.isInteger(p.version)) {
        throw invalidExport(file, `item [${index}] needs a string "name" and an integer "version"`);
      }
      byName.set(p.name, [...(byName.get(p.name) ?? []), p as LangfusePrompt]);
    });
    return [...byName.values()].map((versions) => versions.sort((a, b) => a.version - b.version));
  },
});

interface ImportedVersion {
  readonly langfuse: number;
  readonly version: number;
  readonly sha: string;
  readonly created: boolean;
}

interface ImportedPrompt {
  readonly name: string;
  readonly versions: ImportedVersion[];
  readonly labels: { label: string; langfuse: number; version: number; changed: boolean }[];
}

/** Every version converted before anything is written: one refusal lists every field of every version. */
const convertAll = (prompts: LangfusePrompt[][]): PromptContent[][] => {
  const issues: FieldIssue[] = [];
  const converted = prompts.map((versions) =>
    versions.map((p) => {
      try {
        return fromLangfuse(p);
      } catch (error) {
        if (!isPromptopsError(error) || error.issues === undefined) throw error;
        issues.push(...error.issues.map((i) => ({ path: `${p.name}@${p.version}: ${i.path}`, message: i.message })));
        return undefined;
      }
    }),
  );
  if (issues.length > 0) {
    throw new PromptopsError(
      'invalid',
      'langfuse_unsupported',
      `nothing imported: these Langfuse versions have no promptops counterpart:\n${formatIssues(issues)}`,
      { issues, fix: 'rewrite the fields named in Langfuse (docs/decisions/langfuse-compat.md), then import again' },
    );
  }
  return converted as PromptContent[][];
};

export const registerImportLangfuse = (program: Command, ctx: CommandContext): void => {
  const parent =
    program.commands.find((c) => c.name() === 'import') ??
    program.command('import').description('bring prompts and eval suites in from another tool (promptfoo, Langfuse)');
  parent
    .command('langfuse')
    .description('copy every Langfuse prompt, every version in order, and its labels into promptops (idempotent)')
    // Not --url: that global option names the promptops server, and commander reads it anywhere on the line.
    .option('--host <url>', 'the Langfuse server, e.g. https://cloud.langfuse.com (env LANGFUSE_BASE_URL)')
    .option('--public-key <key>', 'Langfuse public key (env LANGFUSE_PUBLIC_KEY)')
    .option('--secret-key <key>', 'Langfuse secret key (env LANGFUSE_SECRET_KEY)')
    .option('--file <export.json>', 'read an export instead: prompt versions as the Langfuse API returns them')
    .action(
      async (options: { host?: string; publicKey?: string; secretKey?: string; file?: string }, command: Command) => {
        const out = ctx.output(command);
        const publicKey = options.publicKey ?? ctx.io.env['LANGFUSE_PUBLIC_KEY'];
        const secretKey = options.secretKey ?? ctx.io.env['LANGFUSE_SECRET_KEY'];
        const host = options.host ?? (options.file === undefined ? ctx.io.env['LANGFUSE_BASE_URL'] : undefined);
        if ((options.file === undefined) === (host === undefined)) {
          throw new PromptopsError('invalid', 'usage.langfuse_source', 'give either --host (with keys) or --file', {
            fix: 'promptops import langfuse --host URL --public-key PK --secret-key SK, or --file export.json',
          });
        }
        if (host !== undefined && (publicKey === undefined || secretKey === undefined)) {
          throw new PromptopsError('invalid', 'usage.langfuse_keys', '--host needs --public-key and --secret-key', {
            fix: 'pass both keys, or set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY',
          });
        }
        const source =
          options.file !== undefined
            ? fileSource(options.file, resolve(ctx.io.cwd, options.file))
            : apiSource(host!, publicKey!, secretKey!);
        const client = await ctx.client(command);
        const prompts = await source.load((text) => out.progress(text));
        const contents = convertAll(prompts);
        const total = prompts.reduce((sum, versions) => sum + versions.length, 0);
        const imported: ImportedPrompt[] = [];
        let done = 0;
        for (const [index, versions] of prompts.entries()) {
          const name = versions[0]!.name;
          let parentSha = (await client.getPrompt(name))?.sha ?? null;
          const result: ImportedPrompt = { name, versions: [], labels: [] };
          for (const [at, version] of versions.entries()) {
            const pushed = await client.pushVersion(name, {
              content: contents[index]![at]!,
              parent: parentSha,
              message: langfuseCommitMessage({
                commitMessage: version.commitMessage ?? null,
                version: version.version,
                tags: version.tags,
              }),
            });
            if (pushed.created) parentSha = pushed.sha;
            result.versions.push({
              langfuse: version.version,
              version: pushed.version,
              sha: pushed.sha,
              created: pushed.created,
            });
            // Labels move as the history is replayed: each lands when the version holding it does.
            for (const label of version.labels.filter((l) => l !== LANGFUSE_LATEST)) {
              const moved = await client.setLabel(name, label, {
                ref: `v${pushed.version}`,
                reason: `imported from Langfuse: ${label} on version ${version.version}`,
              });
              result.labels.push({ label, langfuse: version.version, version: pushed.version, changed: moved.changed });
            }
            done += 1;
            out.progress(`importing: ${done}/${total} versions`);
          }
          imported.push(result);
        }
        out.done();
        const created = imported.reduce((sum, p) => sum + p.versions.filter((v) => v.created).length, 0);
        const moved = imported.reduce((sum, p) => sum + p.labels.filter((l) => l.changed).length, 0);
        if (out.json) {
          out.data({ source: source.where, prompts: imported, created, moved, changed: created + moved > 0 });
          return;
        }
        for (const p of imported) {
          const fresh = p.versions.filter((v) => v.created).length;
          const labels = p.labels.map((l) => `${l.label} -> v${l.version}${l.changed ? '' : ' (already)'}`);
          out.line(
            `${p.name}: ${p.versions.length} versions (${fresh} new)${labels.length > 0 ? `; ${labels.join(', ')}` : ''}`,
          );
        }
        out.line(
          created + moved === 0
            ? `nothing changed: all ${total} versions and their labels are already in promptops`
            : `imported ${created} new versions of ${imported.length} prompts and moved ${moved} labels from ${source.where}`,
        );
      },
    );
};
