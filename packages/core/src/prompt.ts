import { contentSha } from './canonical.js';
import { PromptopsError, formatIssues, type FieldIssue } from './errors.js';
import { parsePromptContent, type ChatMessage, type PromptContent, type VariableSpec } from './schema.js';
import { extractReferences, renderTemplate } from './template.js';

/** Every template of a prompt with where it sits, for validation, extraction and diffs. */
export const templatesOf = (content: PromptContent): { path: string; template: string }[] => [
  ...(content.type === 'text'
    ? [{ path: 'template', template: content.template }]
    : content.messages.map((message, index) => ({ path: `messages[${index}].content`, template: message.content }))),
  ...Object.entries(content.slots).map(([slot, template]) => ({ path: `slots.${slot}`, template })),
];

const typeMatches = (type: VariableSpec['type'], value: unknown): boolean => {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'any':
      return true;
  }
};

/** The shortest chain of slots from `start` back to itself along `includes`, or undefined. */
const shortestCycle = (start: string, includes: ReadonlyMap<string, readonly string[]>): string[] | undefined => {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let index = 0; index < queue.length; index += 1) {
    const slot = queue[index]!;
    for (const next of includes.get(slot) ?? []) {
      if (next === start) {
        const chain = [slot];
        for (let at = slot; at !== start;) chain.unshift((at = previous.get(at)!));
        return chain;
      }
      if (!previous.has(next) && includes.has(next)) {
        previous.set(next, slot);
        queue.push(next);
      }
    }
  }
  return undefined;
};

/**
 * Slots that always include themselves (a -> b -> a, each `{{> ...}}` outside any section) can never finish
 * rendering, whatever the data. Recursion inside a section stays allowed: the data can end it (a tree).
 * One issue per cycle, at its first slot by name.
 */
const slotCycleIssues = (includes: ReadonlyMap<string, readonly string[]>): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  const reported = new Set<string>();
  for (const start of [...includes.keys()].sort()) {
    if (reported.has(start)) continue;
    const cycle = shortestCycle(start, includes);
    if (cycle === undefined) continue;
    for (const slot of cycle) reported.add(slot);
    issues.push({
      path: `slots.${start}`,
      message: `slot "${start}" always includes itself (${[...cycle, start].join(' -> ')}), so it can never finish rendering: remove one of these {{> ...}}, or put it inside a {{#section}} that the data ends`,
    });
  }
  return issues;
};

/**
 * Semantic checks beyond the schema: every variable a template reads is declared, every partial names
 * a slot, no slot always includes itself, defaults have the declared type. Returns the issues;
 * `validatePromptContent` throws them.
 */
export const semanticIssues = (content: PromptContent): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  const declared = new Set(Object.keys(content.variables));
  const used = new Set<string>();
  /** slot -> the slots it always includes */
  const includes = new Map<string, string[]>();
  for (const { path, template } of templatesOf(content)) {
    let refs;
    try {
      refs = extractReferences(template, path);
    } catch (error) {
      issues.push({ path, message: (error as Error).message });
      continue;
    }
    if (path.startsWith('slots.')) includes.set(path.slice('slots.'.length), [...refs.unconditionalPartials]);
    for (const name of refs.variables) {
      used.add(name);
      if (!declared.has(name)) {
        issues.push({
          path,
          message: `variable {{${name}}} is used in ${path} but not declared in variables; add "${name}: { type: string }" under variables`,
        });
      }
    }
    for (const slot of refs.partials) {
      if (!Object.prototype.hasOwnProperty.call(content.slots, slot)) {
        issues.push({ path, message: `{{> ${slot}}} names a slot that is not declared; add "${slot}" under slots` });
      }
    }
  }
  issues.push(...slotCycleIssues(includes));
  for (const [name, spec] of Object.entries(content.variables)) {
    if (spec.default !== undefined && !typeMatches(spec.type, spec.default)) {
      issues.push({
        path: `variables.${name}.default`,
        message: `default ${JSON.stringify(spec.default)} is not of type ${spec.type}`,
      });
    }
  }
  return issues;
};

/**
 * Declared variables that no template (message, template or slot) mentions, in declaration order. Not an
 * error for the registry (a version may keep an input its callers still pass), but `promptops check`
 * reports it: usually a template lost the line that used it.
 */
export const unusedVariables = (content: PromptContent): string[] => {
  const used = new Set<string>();
  for (const { path, template } of templatesOf(content)) {
    try {
      for (const name of extractReferences(template, path).names) used.add(name);
    } catch {
      // A template that does not parse is reported by semanticIssues; nothing is unused because of it.
      return [];
    }
  }
  return Object.keys(content.variables).filter((name) => !used.has(name));
};

/** Schema plus semantics; the one gate every version passes before it is hashed or stored. */
export const validatePromptContent = (input: unknown, what = 'prompt content'): PromptContent => {
  const content = parsePromptContent(input, what);
  const issues = semanticIssues(content);
  if (issues.length > 0) {
    throw new PromptopsError('invalid', 'invalid_prompt', `${what} is invalid:\n${formatIssues(issues)}`, {
      issues,
      fix: 'declare every variable the templates use and every slot they include, and break slot cycles',
    });
  }
  return content;
};

/** The version identity: sha256 of the RFC 8785 canonical JSON of the content. */
export const promptSha = (content: PromptContent): string => contentSha(content);

export type RenderedPrompt =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'chat'; readonly messages: readonly ChatMessage[] };

const isJsonData = (value: unknown, depth = 0): boolean => {
  if (depth > 64) return false;
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return true;
  if (typeof value !== 'object') return false;
  if (!Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
  }
  // Read descriptors, not values: a getter is code, and checking it must not run it.
  const descriptors = Object.getOwnPropertyDescriptors(value);
  return Reflect.ownKeys(descriptors).every((key) => {
    if (Array.isArray(value) && key === 'length') return true;
    const descriptor = descriptors[key as string];
    return (
      typeof key === 'string' &&
      descriptor !== undefined &&
      'value' in descriptor &&
      isJsonData(descriptor.value, depth + 1)
    );
  });
};

/**
 * Resolves the variables for a render: applies defaults, and refuses missing required variables,
 * variables the prompt does not declare, values of the wrong type and anything that is not JSON data.
 */
export const resolveVariables = (
  content: PromptContent,
  vars: Readonly<Record<string, unknown>>,
): Record<string, unknown> => {
  const problems: string[] = [];
  const view: Record<string, unknown> = {};
  for (const name of Object.keys(vars)) {
    if (!Object.prototype.hasOwnProperty.call(content.variables, name)) {
      problems.push(
        `variable "${name}" is not declared by the prompt (declared: ${Object.keys(content.variables).join(', ') || 'none'}); remove it or declare it in the prompt`,
      );
    }
  }
  for (const [name, spec] of Object.entries(content.variables)) {
    const given = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
    const value = given === undefined ? spec.default : given;
    if (value === undefined) {
      if (spec.required) problems.push(`variable {{${name}}} is required but was not provided`);
      continue;
    }
    if (!isJsonData(value)) {
      problems.push(`variable {{${name}}} must be JSON data (string, number, boolean, null, array or plain object)`);
    } else if (!typeMatches(spec.type, value)) {
      problems.push(
        `variable {{${name}}} must be of type ${spec.type}, got ${Array.isArray(value) ? 'array' : typeof value}`,
      );
    } else {
      view[name] = value;
    }
  }
  if (problems.length > 0) {
    throw new PromptopsError('invalid', 'invalid_variables', `prompt '${content.name}': ${problems.join('; ')}`, {
      issues: problems.map((message) => ({ path: 'variables', message })),
      fix: 'pass every required variable declared by the prompt, and only those',
    });
  }
  return view;
};

/** Renders a prompt: text, or chat messages with each content rendered. */
export const renderPrompt = (
  content: PromptContent,
  vars: Readonly<Record<string, unknown>> = {},
  slots: Readonly<Record<string, string>> = content.slots,
): RenderedPrompt => {
  const view = resolveVariables(content, vars);
  const where = (path: string): string => `prompt '${content.name}' ${path}`;
  if (content.type === 'text') {
    return { type: 'text', text: renderTemplate(content.template, view, slots, where('template')) };
  }
  return {
    type: 'chat',
    messages: content.messages.map((message, index) => ({
      role: message.role,
      content: renderTemplate(message.content, view, slots, where(`messages[${index}].content`)),
    })),
  };
};
