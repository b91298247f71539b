import Mustache from 'mustache';
import { PromptopsError } from './errors.js';

/**
 * Logic-less mustache. Parsing is mustache.js's; rendering is our own small walker over its tokens,
 * because mustache.js calls any function it finds in the view (lambdas) and resolves names through the
 * prototype chain (`{{constructor}}`). Here a name resolves only to an own property of plain JSON data,
 * and nothing in a template can ever call code.
 */

type Token = [string, string, number, number, ...unknown[]];

/** Sections (`{{#s}}`, `{{^s}}`) nest at most this deep: walking them recurses, and real prompts nest a few. */
export const MAX_SECTION_DEPTH = 64;

/**
 * Parsed templates by their text, least recently used first. The SDK renders the same few templates on
 * every call and a parse costs some 70 µs per KB, so parses are kept, but only up to a total size: every
 * distinct template ever pushed or rendered must not stay in memory (mustache.js's own cache is unbounded,
 * so its global writer is never used).
 */
const CACHE_CHARACTERS = 512 * 1024;
const parsed = new Map<string, Token[]>();
let cachedCharacters = 0;

const remember = (template: string, tokens: Token[]): void => {
  if (template.length > CACHE_CHARACTERS / 2) return;
  parsed.set(template, tokens);
  cachedCharacters += template.length;
  for (const oldest of parsed.keys()) {
    if (cachedCharacters <= CACHE_CHARACTERS) break;
    parsed.delete(oldest);
    cachedCharacters -= oldest.length;
  }
};

/** The deepest section nesting, walked without recursion (a template may nest thousands deep). */
const sectionDepth = (tokens: readonly Token[]): number => {
  let deepest = 0;
  const pending: [readonly Token[], number][] = [[tokens, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [list, depth] = next;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_SECTION_DEPTH) break;
    for (const token of list) {
      if (token[0] === '#' || token[0] === '^') pending.push([(token[4] as Token[] | undefined) ?? [], depth + 1]);
    }
  }
  return deepest;
};

const parseTemplate = (template: string, where: string): Token[] => {
  const hit = parsed.get(template);
  if (hit !== undefined) {
    parsed.delete(template);
    parsed.set(template, hit);
    return hit;
  }
  let tokens: Token[];
  try {
    // A writer of its own per parse: its cache dies with it.
    tokens = new Mustache.Writer().parse(template) as Token[];
  } catch (error) {
    throw new PromptopsError(
      'invalid',
      'invalid_template',
      `${where}: template does not parse: ${(error as Error).message}`,
      { fix: 'close every {{#section}} with {{/section}} and balance the braces' },
    );
  }
  if (sectionDepth(tokens) > MAX_SECTION_DEPTH) {
    throw new PromptopsError(
      'invalid',
      'invalid_template',
      `${where}: sections nest more than ${MAX_SECTION_DEPTH} levels deep`,
      { fix: `nest {{#section}} and {{^section}} at most ${MAX_SECTION_DEPTH} levels deep` },
    );
  }
  remember(template, tokens);
  return tokens;
};

export interface TemplateReferences {
  /** Top-level variable names the template reads (the root of dotted names). */
  readonly variables: ReadonlySet<string>;
  /** Names of partials (`{{> slot}}`) the template includes. */
  readonly partials: ReadonlySet<string>;
  /** The partials included outside any section: rendering the template always renders them. */
  readonly unconditionalPartials: ReadonlySet<string>;
  /**
   * The root of every name the template mentions at any depth. Inside a section a name may be a field of
   * the item or a variable (lookups fall back to the outer context), so this is what "used" means.
   */
  readonly names: ReadonlySet<string>;
}

const rootName = (name: string): string => name.split('.')[0] ?? name;

/**
 * Variables and partials a template uses. Inside a section, a name may be a field of the section's
 * item, so only names outside any section and the section names themselves count as variables.
 */
export const extractReferences = (template: string, where = 'template'): TemplateReferences => {
  const variables = new Set<string>();
  const partials = new Set<string>();
  const unconditionalPartials = new Set<string>();
  const names = new Set<string>();
  const walk = (tokens: readonly Token[], depth: number): void => {
    for (const token of tokens) {
      const [type, value] = token;
      if (type === 'name' || type === '&') {
        if (value !== '.') names.add(rootName(value));
        if (depth === 0 && value !== '.') variables.add(rootName(value));
      } else if (type === '#' || type === '^') {
        names.add(rootName(value));
        if (depth === 0) variables.add(rootName(value));
        walk((token[4] as Token[] | undefined) ?? [], depth + 1);
      } else if (type === '>') {
        partials.add(value);
        if (depth === 0) unconditionalPartials.add(value);
      }
    }
  };
  walk(parseTemplate(template, where), 0);
  return { variables, partials, unconditionalPartials, names };
};

const MISSING = Symbol('missing');

const isDataValue = (value: unknown): boolean =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'number' ||
  typeof value === 'boolean' ||
  typeof value === 'object';

/**
 * An own data property holding JSON-like data, or MISSING: never the prototype chain, never a getter
 * (it would run code), never a function, symbol or bigint.
 */
const own = (value: unknown, key: string): unknown => {
  if (value === null || typeof value !== 'object') return MISSING;
  const descriptor = Object.getOwnPropertyDescriptor(value, key);
  if (descriptor === undefined || !('value' in descriptor) || !isDataValue(descriptor.value)) return MISSING;
  return descriptor.value;
};

const lookup = (stack: readonly unknown[], name: string): unknown => {
  if (name === '.') return stack[stack.length - 1];
  const [head = '', ...rest] = name.split('.');
  for (let index = stack.length - 1; index >= 0; index -= 1) {
    let value = own(stack[index], head);
    if (value === MISSING) continue;
    for (const part of rest) {
      value = own(value, part);
      if (value === MISSING) return MISSING;
    }
    return value;
  }
  return MISSING;
};

const MAX_DATA_DEPTH = 64;

/** A JSON-only copy read through `own`, so serializing never calls `toJSON`, getters or iterators. */
const toData = (value: unknown, depth: number): unknown => {
  if (typeof value !== 'object' || value === null)
    return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  if (depth > MAX_DATA_DEPTH) {
    throw new PromptopsError(
      'invalid',
      'invalid_variables',
      `a value is nested more than ${MAX_DATA_DEPTH} levels deep (or is circular)`,
      {
        fix: 'pass JSON data',
      },
    );
  }
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (let index = 0; index < value.length; index += 1) {
      const item = own(value, String(index));
      items.push(item === MISSING ? null : toData(item, depth + 1));
    }
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = own(value, key);
    if (item !== MISSING) {
      Object.defineProperty(out, key, {
        value: toData(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
};

const stringify = (value: unknown): string => {
  if (value === MISSING || value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object') return '';
  return JSON.stringify(toData(value, 0));
};

const isFalsy = (value: unknown): boolean =>
  value === MISSING ||
  value === null ||
  value === undefined ||
  value === false ||
  value === '' ||
  (Array.isArray(value) && value.length === 0);

/**
 * A partial tag alone on its line (only whitespace around it) is "standalone": its indentation is
 * applied to every line of the partial. An inline partial is inserted as is (mustache spec).
 */
const standaloneIndentation = (token: Token, source: string): string => {
  const [, , , end, indentation, tagIndex, lineHasNonSpace] = token;
  if (typeof indentation !== 'string' || indentation === '' || tagIndex !== 0 || lineHasNonSpace !== false) return '';
  return /^[ \t]*(\r?\n|$)/.test(source.slice(end)) ? indentation : '';
};

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
  const renderTokens = (tokens: readonly Token[], source: string, stack: unknown[], depth: number): string => {
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
            for (let index = 0; index < found.length; index += 1) {
              out += renderTokens(inner, source, [...stack, own(found, String(index))], depth);
            }
          } else {
            // Any other truthy value becomes the context, so `{{#name}}{{.}}{{/name}}` prints it.
            out += renderTokens(inner, source, [...stack, found], depth);
          }
          break;
        }
        case '^':
          if (isFalsy(lookup(stack, value))) {
            out += renderTokens((token[4] as Token[] | undefined) ?? [], source, stack, depth);
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
          const indentation = standaloneIndentation(token, source);
          let text = partials[value] ?? '';
          if (indentation !== '') text = text.replace(/^(?=.)/gm, indentation);
          out += renderTokens(parseTemplate(text, `slot "${value}"`), text, stack, depth + 1);
          break;
        }
        default:
          // comments ('!') and delimiter changes ('=') render nothing
          break;
      }
    }
    return out;
  };
  return renderTokens(parseTemplate(template, where), template, [view], 0);
};
