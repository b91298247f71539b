/**
 * promptfoo templates are Nunjucks; promptops templates are logic-less mustache. This converts the part of
 * Nunjucks that mustache can express with the same meaning: `{{ name.path }}`, `{% if name %}`,
 * `{% if not name %}`, `{% else %}`, `{% for item in list %}` over `{{ item.field }}`, comments and
 * whitespace control. Filters are dropped with a note (the value is rendered as is). Anything else (`elif`,
 * expressions, `loop.*`, `set`, `include`, macros) throws a `NunjucksError` naming the construct, so the
 * caller skips that prompt with a warning rather than storing a template that renders differently.
 */

export class NunjucksError extends Error {}

export interface ConvertedTemplate {
  readonly template: string;
  /** Filters dropped, and the like: what renders differently, said once each. */
  readonly notes: readonly string[];
}

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/;
const TAG = /\{\{-?([\s\S]*?)-?\}\}|\{%-?([\s\S]*?)-?%\}|\{#[\s\S]*?#\}/g;
// Filters that change nothing in promptfoo (it renders with autoescape off).
const NO_OP_FILTERS = new Set(['safe']);

interface Block {
  readonly kind: 'if' | 'for';
  readonly name: string;
  readonly inverted: boolean;
  readonly item?: string;
}

/** `a.b[0]` -> `a.b.0`; inside `{% for item in list %}`, `item.x` -> `x` and `item` -> `.`. */
const mustachePath = (path: string, blocks: readonly Block[], source: string): string => {
  const dotted = path.replace(/\[(\d+)\]/g, '.$1');
  const head = dotted.split('.')[0] ?? '';
  if (head === 'loop') throw new NunjucksError(`${source}: loop variables (${path}) have no mustache counterpart`);
  const inner = [...blocks].reverse().find((b) => b.kind === 'for');
  if (inner?.item === head) return dotted === head ? '.' : dotted.slice(head.length + 1);
  if (blocks.some((b) => b.kind === 'for' && b.item === head)) {
    throw new NunjucksError(`${source}: an outer loop's item (${path}) cannot be named inside an inner loop`);
  }
  return dotted;
};

export const nunjucksToMustache = (text: string, where: string): ConvertedTemplate => {
  if (!/\{[{%#]/.test(text)) return { template: text, notes: [] };
  const notes = new Set<string>();
  const blocks: Block[] = [];
  let out = '';
  let trimNext = false;
  let last = 0;
  const emitText = (chunk: string): void => {
    out += trimNext ? chunk.replace(/^\s+/, '') : chunk;
    trimNext = false;
  };
  for (const match of text.matchAll(TAG)) {
    const raw = match[0];
    emitText(text.slice(last, match.index));
    last = match.index + raw.length;
    if (/^\{[{%]-/.test(raw)) out = out.replace(/\s+$/, '');
    trimNext = /-[}%]\}$/.test(raw);
    if (raw.startsWith('{#')) continue;
    const source = `${where}: ${raw.replace(/\s+/g, ' ')}`;
    if (match[1] !== undefined) {
      const [expression = '', ...filters] = match[1].split('|').map((part) => part.trim());
      if (!PATH.test(expression)) {
        throw new NunjucksError(`${source}: only a variable (name or name.field) can be converted, not an expression`);
      }
      for (const filter of filters) {
        const name = filter.replace(/\(.*$/s, '').trim();
        if (!NO_OP_FILTERS.has(name)) {
          notes.add(
            `${where}: filter "${name}" on {{ ${expression} }} has no mustache counterpart; the value is rendered as is`,
          );
        }
      }
      out += `{{${mustachePath(expression, blocks, source)}}}`;
      continue;
    }
    const statement = (match[2] ?? '').trim();
    const [keyword = '', ...rest] = statement.split(/\s+/);
    const args = rest.join(' ');
    if (keyword === 'if') {
      const inverted = /^not\s+/.test(args);
      const name = args.replace(/^not\s+/, '').trim();
      if (!PATH.test(name)) throw new NunjucksError(`${source}: only {% if name %} and {% if not name %} convert`);
      const path = mustachePath(name, blocks, source);
      if (path === '.') throw new NunjucksError(`${source}: a condition on the loop item itself does not convert`);
      blocks.push({ kind: 'if', name: path, inverted });
      out += `{{${inverted ? '^' : '#'}${path}}}`;
    } else if (keyword === 'for') {
      const loop = /^([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(\S+)$/.exec(args);
      if (loop === null || !PATH.test(loop[2] ?? '')) {
        throw new NunjucksError(`${source}: only {% for item in list %} converts`);
      }
      const path = mustachePath(loop[2] ?? '', blocks, source);
      blocks.push({ kind: 'for', name: path, inverted: false, item: loop[1] ?? '' });
      out += `{{#${path}}}`;
    } else if (keyword === 'else') {
      const open = blocks.pop();
      if (open === undefined) throw new NunjucksError(`${source}: {% else %} outside {% if %} or {% for %}`);
      const flipped = open.kind === 'for' ? true : !open.inverted;
      out += `{{/${open.name}}}{{${flipped ? '^' : '#'}${open.name}}}`;
      blocks.push({ kind: 'if', name: open.name, inverted: flipped });
    } else if (keyword === 'endif' || keyword === 'endfor') {
      const open = blocks.pop();
      if (open === undefined) throw new NunjucksError(`${source}: {% ${keyword} %} without its opening tag`);
      out += `{{/${open.name}}}`;
    } else {
      throw new NunjucksError(`${source}: {% ${keyword} %} has no mustache counterpart`);
    }
  }
  emitText(text.slice(last));
  if (blocks.length > 0) throw new NunjucksError(`${where}: {% ${blocks[blocks.length - 1]?.kind} %} is never closed`);
  return { template: out, notes: [...notes] };
};
