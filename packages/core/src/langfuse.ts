import { PromptopsError, formatIssues, isPromptopsError, type FieldIssue } from './errors.js';
import { MESSAGE_ROLES, PROMPT_NAME_PATTERN, type JsonValue, type MessageRole, type PromptContent } from './schema.js';
import { validatePromptContent } from './prompt.js';
import { extractReferences } from './template.js';

/**
 * Langfuse's prompt shapes (its public API, `/api/public/v2/prompts`) and their mapping to promptops
 * content, both ways. A Langfuse version maps to one promptops version; what promptops cannot express
 * (placeholders, free roles, partials, prompt references) is refused, naming the field, never dropped.
 * docs/decisions/langfuse-compat.md says why.
 */

export interface LangfuseChatMessage {
  readonly role: string;
  readonly content: string;
  readonly type?: 'chatmessage';
}

export interface LangfusePlaceholderMessage {
  readonly type: 'placeholder';
  readonly name: string;
}

/** A prompt version as `GET /api/public/v2/prompts/{name}` answers it. */
export interface LangfusePrompt {
  readonly name: string;
  readonly version: number;
  readonly type: 'text' | 'chat';
  readonly prompt: string | readonly (LangfuseChatMessage | LangfusePlaceholderMessage)[];
  readonly config: unknown;
  readonly labels: readonly string[];
  readonly tags: readonly string[];
  readonly commitMessage: string | null;
}

/** One row of `GET /api/public/v2/prompts`. */
export interface LangfusePromptMeta {
  readonly name: string;
  readonly type: 'text' | 'chat';
  readonly versions: readonly number[];
  readonly labels: readonly string[];
  readonly tags: readonly string[];
  readonly lastUpdatedAt: string;
  readonly lastConfig: unknown;
}

/** What a Langfuse version must hold to become promptops content (the body of `POST` has this too). */
export interface LangfusePromptInput {
  readonly name: string;
  readonly type?: 'text' | 'chat' | undefined;
  readonly prompt: unknown;
  readonly config?: unknown;
}

/** Langfuse labels every newest version `latest` itself, as promptops does: never moved by hand. */
export const LANGFUSE_LATEST = 'latest';
/** What `GET /prompts/{name}` serves when asked for neither a label nor a version. */
export const LANGFUSE_DEFAULT_LABEL = 'production';

const unsupported = (where: string, issues: FieldIssue[]): PromptopsError =>
  new PromptopsError(
    'invalid',
    'langfuse_unsupported',
    `${where} has no promptops counterpart:\n${formatIssues(issues)}`,
    { issues, fix: 'rewrite the fields named with what promptops supports (docs/decisions/langfuse-compat.md)' },
  );

const isPlainObject = (value: unknown): value is Record<string, JsonValue> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const PROMPT_REFERENCE = /@@@langfusePrompt:/;

/** Langfuse config (free JSON) -> promptops config: `model` and `provider` as such, the rest as params. */
const configFrom = (config: unknown, issues: FieldIssue[]): PromptContent['config'] => {
  if (config === undefined || config === null) return { params: {} };
  if (!isPlainObject(config)) {
    issues.push({ path: 'config', message: 'is not an object; promptops keeps model parameters as an object' });
    return { params: {} };
  }
  const { model, provider, ...params } = config;
  if ('name' in params) {
    issues.push({ path: 'config.name', message: 'a "name" parameter has no counterpart; rename it' });
  }
  if (provider !== undefined && (typeof provider !== 'string' || provider === '')) {
    issues.push({ path: 'config.provider', message: 'must be a non-empty string (the provider name)' });
  }
  const modelName = typeof model === 'string' && model !== '' ? model : undefined;
  return {
    ...(typeof provider === 'string' && provider !== '' ? { provider } : {}),
    ...(modelName === undefined ? {} : { model: modelName }),
    params: (modelName === undefined && model !== undefined
      ? { ...params, model }
      : params) as PromptContent['config']['params'],
  };
};

const messagesFrom = (prompt: unknown, issues: FieldIssue[]): { role: MessageRole; content: string }[] => {
  if (!Array.isArray(prompt)) {
    issues.push({ path: 'prompt', message: 'a chat prompt is a list of { role, content } messages' });
    return [];
  }
  return prompt.flatMap((item: unknown, index) => {
    const path = `prompt[${index}]`;
    if (!isPlainObject(item)) {
      issues.push({ path, message: 'is not a { role, content } message' });
      return [];
    }
    if (item['type'] === 'placeholder') {
      issues.push({
        path,
        message: `placeholder "${String(item['name'])}" (a list of messages inserted at compile time) has no counterpart; pass that text in a variable`,
      });
      return [];
    }
    const { role, content } = item;
    if (typeof role !== 'string' || !(MESSAGE_ROLES as readonly string[]).includes(role)) {
      issues.push({
        path: `${path}.role`,
        message: `role ${JSON.stringify(role)} is not one of ${MESSAGE_ROLES.join(', ')}`,
      });
      return [];
    }
    if (typeof content !== 'string') {
      issues.push({ path: `${path}.content`, message: 'must be a string (multi-part content has no counterpart)' });
      return [];
    }
    return [{ role: role as MessageRole, content }];
  });
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `name` is read only as a value (`{{name}}`, `{{{name}}}`), never as a section or a dotted path. */
const plainUse = (template: string, name: string): boolean => {
  const n = escapeRegExp(name);
  return !new RegExp(`\\{\\{\\s*([#^]\\s*${n}\\b|&?\\s*${n}\\.)`).test(template);
};

/**
 * Variables a Langfuse template reads, declared as promptops needs them: a plain `{{var}}` is a required
 * string; a section or dotted name (`{{#items}}`, `{{user.name}}`) takes any value and may be absent.
 */
const variablesOf = (templates: { path: string; template: string }[], issues: FieldIssue[]) => {
  const plain = new Set<string>();
  const other = new Set<string>();
  for (const { path, template } of templates) {
    if (PROMPT_REFERENCE.test(template)) {
      issues.push({
        path,
        message: 'a Langfuse prompt reference (@@@langfusePrompt:…@@@) has no counterpart; inline the text',
      });
      continue;
    }
    let refs;
    try {
      refs = extractReferences(template, path);
    } catch (error) {
      issues.push({ path, message: (error as Error).message });
      continue;
    }
    for (const partial of refs.partials) {
      issues.push({ path, message: `partial {{> ${partial}}} has no counterpart in a Langfuse prompt; inline it` });
    }
    for (const name of refs.variables) (plainUse(template, name) ? plain : other).add(name);
  }
  const variables: PromptContent['variables'] = {};
  for (const name of [...plain, ...other].sort()) {
    variables[name] =
      plain.has(name) && !other.has(name) ? { type: 'string', required: true } : { type: 'any', required: false };
  }
  return variables;
};

/** A Langfuse prompt version as promptops content, or `langfuse_unsupported` naming every field it cannot take. */
export const fromLangfuse = (input: LangfusePromptInput, where = `Langfuse prompt '${input.name}'`): PromptContent => {
  const issues: FieldIssue[] = [];
  if (!PROMPT_NAME_PATTERN.test(input.name)) {
    issues.push({
      path: 'name',
      message: `"${input.name}" is not a promptops name: lowercase letters, digits, "_", "." and "-", "/" between folders`,
    });
  }
  const type = input.type ?? 'text';
  const config = configFrom(input.config, issues);
  const body =
    type === 'chat'
      ? { type, messages: messagesFrom(input.prompt, issues) }
      : typeof input.prompt === 'string'
        ? { type, template: input.prompt }
        : (issues.push({ path: 'prompt', message: 'a text prompt is a string' }), { type, template: '' });
  const templates =
    body.type === 'chat'
      ? body.messages.map((m, index) => ({ path: `prompt[${index}].content`, template: m.content }))
      : [{ path: 'prompt', template: body.template }];
  const variables = variablesOf(templates, issues);
  if (issues.length > 0) throw unsupported(where, issues);
  try {
    return validatePromptContent({ name: input.name, config, variables, slots: {}, ...body }, where);
  } catch (error) {
    if (isPromptopsError(error) && error.issues !== undefined) throw unsupported(where, [...error.issues]);
    throw error;
  }
};

/** Langfuse's config of promptops content: its params with `model` and `provider` beside them. */
export const langfuseConfigOf = (content: PromptContent): Record<string, JsonValue> => ({
  ...(content.config.provider === undefined ? {} : { provider: content.config.provider }),
  ...(content.config.model === undefined ? {} : { model: content.config.model }),
  ...content.config.params,
});

/**
 * What a Langfuse client could not render as promptops would: slots (partials) and variable defaults.
 * Served as is, a Langfuse compile would silently drop them, so such a version is refused (422).
 */
export const assertLangfuseServable = (content: PromptContent): void => {
  const issues: FieldIssue[] = [];
  for (const slot of Object.keys(content.slots)) {
    issues.push({ path: `slots.${slot}`, message: 'slots (partials) have no Langfuse counterpart' });
  }
  for (const [name, spec] of Object.entries(content.variables)) {
    if (spec.default !== undefined) {
      issues.push({ path: `variables.${name}.default`, message: 'variable defaults have no Langfuse counterpart' });
    }
  }
  if (issues.length > 0) {
    throw new PromptopsError(
      'unprocessable',
      'langfuse_unsupported',
      `prompt '${content.name}' cannot be served as a Langfuse prompt:\n${formatIssues(issues)}`,
      { issues, fix: 'read it from the promptops API (GET /api/v1/prompts/NAME/versions/REF) or the promptops SDK' },
    );
  }
};

// Commit trailers: Langfuse's own version number and its (prompt-wide) tags ride in the commit message,
// outside the content sha, so an import keeps them and `commitMessage` reads back as it was.
const VERSION_TRAILER = 'Langfuse-Version: ';
const TAGS_TRAILER = 'Langfuse-Tags: ';

export interface LangfuseCommit {
  readonly commitMessage: string | null;
  /** The version's number in the Langfuse it was imported from. */
  readonly version?: number | undefined;
  readonly tags?: readonly string[] | undefined;
}

/** The promptops commit message carrying a Langfuse commit message, version number and tags. */
export const langfuseCommitMessage = ({ commitMessage, version, tags }: LangfuseCommit): string => {
  const trailers = [
    ...(version === undefined ? [] : [`${VERSION_TRAILER}${version}`]),
    ...(tags === undefined || tags.length === 0 ? [] : [`${TAGS_TRAILER}${JSON.stringify(tags)}`]),
  ];
  const text = commitMessage ?? '';
  if (trailers.length === 0) return text;
  return `${text === '' ? 'Imported from Langfuse' : text}\n\n${trailers.join('\n')}`;
};

export interface ParsedLangfuseCommit {
  readonly commitMessage: string | null;
  readonly version?: number | undefined;
  readonly tags: string[];
}

/** `langfuseCommitMessage` read back. A message without trailers is its own commit message. */
export const parseLangfuseCommit = (message: string): ParsedLangfuseCommit => {
  const lines = message.split('\n');
  let version: number | undefined;
  let tags: string[] = [];
  let end = lines.length;
  while (end > 0) {
    const line = lines[end - 1]!;
    if (line.startsWith(VERSION_TRAILER) && /^\d+$/.test(line.slice(VERSION_TRAILER.length))) {
      version = Number(line.slice(VERSION_TRAILER.length));
    } else if (line.startsWith(TAGS_TRAILER)) {
      try {
        const parsed: unknown = JSON.parse(line.slice(TAGS_TRAILER.length));
        if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) break;
        tags = parsed as string[];
      } catch {
        break;
      }
    } else break;
    end -= 1;
  }
  if (end === lines.length) return { commitMessage: message === '' ? null : message, tags: [] };
  let body = lines.slice(0, end).join('\n').replace(/\n+$/, '');
  if (body === 'Imported from Langfuse' && version !== undefined) body = '';
  return { commitMessage: body === '' ? null : body, version, tags };
};

/** A promptops version as Langfuse's API answers it. */
export const toLangfusePrompt = (version: {
  readonly content: PromptContent;
  readonly version: number;
  readonly message: string;
  readonly labels: readonly string[];
  /** The prompt's tags (Langfuse keeps one set per prompt): the newest version's. */
  readonly tags: readonly string[];
}): LangfusePrompt => {
  const { content } = version;
  assertLangfuseServable(content);
  return {
    name: content.name,
    version: version.version,
    type: content.type,
    prompt:
      content.type === 'text'
        ? content.template
        : content.messages.map((m) => ({ role: m.role, content: m.content, type: 'chatmessage' as const })),
    config: langfuseConfigOf(content),
    labels: [...version.labels],
    tags: [...version.tags],
    commitMessage: parseLangfuseCommit(version.message).commitMessage,
  };
};
