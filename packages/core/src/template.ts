import Mustache from 'mustache';
import { PromptopsError } from './errors.js';

/**
 * Logic-less mustache. Parsing is mustache.js's; rendering is our own small walker over its tokens,
 * because mustache.js calls any function it finds in the view (lambdas) and resolves names through the
 * prototype chain (`{{constructor}}`). Here a name resolves only to an own property of plain JSON data,
 * and nothing in a template can ever call code.
 */

type Token = [string, string, number, number, ...unknown[]];

const parseTemplate = (template: string, where: string): Token[] => {
  try {
    return Mustache.parse(template) as unknown as Token[];
  } catch (error) {
    throw new PromptopsError(
      'invalid',
      'invalid_template',
      `${where}: template does not parse: ${(error as Error).message}`,
      { fix: 'close every {{#section}} with {{/section}} and balance the braces' },
    );
  }
};

export interface TemplateReferences {
  /** Top-level variable names the template reads (the root of dotted names). */
  readonly variables: ReadonlySet<string>;
  /** Names of partials (`{{> slot}}`) the template includes. */
  readonly partials: ReadonlySet<string>;
}

const rootName = (name: string): string => name.split('.')[0] ?? name;

/**
 * Variables and partials a template uses. Inside a section, a name may be a field of the section's
 * item, so only names outside any section and the section names themselves count as variables.
 */
export const extractReferences = (template: string, where = 'template'): TemplateReferences => {
  const variables = new Set<string>();
  const partials = new Set<string>();
  const walk = (tokens: readonly Token[], depth: number): void => {
    for (const token of tokens) {
      const [type, value] = token;
      if (type === 'name' || type === '&') {
        if (depth === 0 && value !== '.') variables.add(rootName(value));
      } else if (type === '#' || type === '^') {
        if (depth === 0) variables.add(rootName(value));
        walk((token[4] as Token[] | undefined) ?? [], depth + 1);
      } else if (type === '>') {
        partials.add(value);
      }
    }
  };
  walk(parseTemplate(template, where), 0);
  return { variables, partials };
};

const hasOwn = (value: unknown, key: string): boolean =>
  value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, key);

const MISSING = Symbol('missing');

const lookup = (stack: readonly unknown[], name: string): unknown => {
  if (name === '.') return stack[stack.length - 1];
  const [head, ...rest] = name.split('.');
  for (let index = stack.length - 1; index >= 0; index -= 1) {
    let value = stack[index];
    if (!hasOwn(value, head ?? '')) continue;
    value = (value as Record<string, unknown>)[head ?? ''];
    for (const part of rest) {
      if (!hasOwn(value, part)) return MISSING;
      value = (value as Record<string, unknown>)[part];
    }
    return value;
  }
  return MISSING;
};

const stringify = (value: unknown): string => {
  if (value === MISSING || value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
};

const isFalsy = (value: unknown): boolean =>
  value === MISSING ||
  value === null ||
  value === undefined ||
  value === false ||
  value === '' ||
  (Array.isArray(value) && value.length === 0);

const MAX_PARTIAL_DEPTH = 16;

/**
 * Renders with HTML escaping off (prompts are not HTML). `view` must be JSON data; functions are never
 * called. Partials come from `partials` only; a missing partial is an error, not an empty string.
 */
export const renderTemplate = (
  template: string,
  view: Readonly<Record<string, unknown>>,
  partials: Readonly<Record<string, string>> = {},
  where = 'template',
): string => {
  const renderTokens = (tokens: readonly Token[], stack: unknown[], depth: number): string => {
    let out = '';
    for (const token of tokens) {
      const [type, value] = token;
      switch (type) {
        case 'text':
          out += value;
          break;
        case 'name':
        case '&':
          out += stringify(lookup(stack, value));
          break;
        case '#': {
          const found = lookup(stack, value);
          const inner = (token[4] as Token[] | undefined) ?? [];
          if (isFalsy(found)) break;
          if (Array.isArray(found)) {
            for (const item of found) out += renderTokens(inner, [...stack, item], depth);
          } else if (typeof found === 'object') {
            out += renderTokens(inner, [...stack, found], depth);
          } else {
            out += renderTokens(inner, stack, depth);
          }
          break;
        }
        case '^':
          if (isFalsy(lookup(stack, value))) {
            out += renderTokens((token[4] as Token[] | undefined) ?? [], stack, depth);
          }
          break;
        case '>': {
          if (!Object.prototype.hasOwnProperty.call(partials, value)) {
            throw new PromptopsError(
              'invalid',
              'missing_slot',
              `${where}: {{> ${value}}} names a slot that does not exist`,
              {
                fix: `add "${value}" under slots, or remove {{> ${value}}}`,
              },
            );
          }
          if (depth >= MAX_PARTIAL_DEPTH) {
            throw new PromptopsError(
              'invalid',
              'slot_recursion',
              `${where}: slots include each other more than ${MAX_PARTIAL_DEPTH} levels deep`,
              {
                fix: 'remove the cycle between slots',
              },
            );
          }
          const indentation = typeof token[4] === 'string' ? token[4] : '';
          let text = partials[value] ?? '';
          if (indentation !== '') text = text.replace(/^(?=.)/gm, indentation);
          out += renderTokens(parseTemplate(text, `slot "${value}"`), stack, depth + 1);
          break;
        }
        default:
          // comments ('!') and delimiter changes ('=') render nothing
          break;
      }
    }
    return out;
  };
  return renderTokens(parseTemplate(template, where), [view], 0);
};
