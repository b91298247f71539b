/**
 * The regular expressions of targeting rules: a small subset, compiled to an NFA and run in time linear
 * in the input (a Pike VM without captures), so no pattern can hang an SDK, and every implementation
 * decides alike without depending on its language's regex engine. Syntax: literals, `.` (any code point),
 * `^` `$` (start, end of the value), `[...]` / `[^...]` with ranges, `\d` `\w` `\s` (ASCII) and their
 * negations, `\` before any other punctuation for itself, groups `( )`, `|`, and `*` `+` `?` once per atom.
 * Matching is a search (anchor with ^ and $ for a whole-value match), case-sensitive, by code point.
 * Decision: docs/decisions/targeting.md; vectors: conformance/targeting.json.
 */

export const MAX_PATTERN_LENGTH = 256;

/** Inclusive code-point ranges; `negated` inverts the set. */
interface CharSet {
  readonly ranges: readonly (readonly [number, number])[];
  readonly negated: boolean;
}

type Node =
  | { readonly t: 'set'; readonly set: CharSet }
  | { readonly t: 'bol' }
  | { readonly t: 'eol' }
  | { readonly t: 'cat'; readonly parts: readonly Node[] }
  | { readonly t: 'alt'; readonly options: readonly Node[] }
  | { readonly t: 'rep'; readonly node: Node; readonly min: 0 | 1; readonly max: 1 | null };

/** NFA instructions: `set` consumes one code point; `split` and `jmp` are free moves. */
type Inst =
  | { readonly op: 'set'; readonly set: CharSet }
  | { readonly op: 'bol' }
  | { readonly op: 'eol' }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { readonly op: 'match' };

export class RegexSyntaxError extends Error {}

const DIGIT: CharSet = { ranges: [[48, 57]], negated: false };
const WORD: CharSet = {
  ranges: [
    [48, 57],
    [65, 90],
    [95, 95],
    [97, 122],
  ],
  negated: false,
};
const SPACE: CharSet = {
  ranges: [
    [9, 13],
    [32, 32],
  ],
  negated: false,
};
const ANY: CharSet = { ranges: [], negated: true };
const CLASSES: Readonly<Record<string, CharSet>> = { d: DIGIT, w: WORD, s: SPACE };
const SPECIAL = new Set('\\^$.|?*+()[]{}'.split(''));
const PUNCTUATION = /^[!-/:-@[-`{-~]$/;

const cp = (ch: string): number => ch.codePointAt(0)!;
const single = (c: number): CharSet => ({ ranges: [[c, c]], negated: false });

class Parser {
  private i = 0;
  constructor(private readonly chars: readonly string[]) {}

  parse(): Node {
    const node = this.alt();
    if (this.i < this.chars.length) throw new RegexSyntaxError(`unexpected '${this.chars[this.i]!}' at ${this.i}`);
    return node;
  }

  private alt(): Node {
    const options = [this.cat()];
    while (this.chars[this.i] === '|') {
      this.i++;
      options.push(this.cat());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private cat(): Node {
    const parts: Node[] = [];
    while (this.i < this.chars.length && this.chars[this.i] !== '|' && this.chars[this.i] !== ')') {
      const atom = this.atom();
      const q = this.chars[this.i];
      if (q === '*' || q === '+' || q === '?') {
        if (atom.t === 'bol' || atom.t === 'eol') throw new RegexSyntaxError(`'${q}' after an anchor at ${this.i}`);
        this.i++;
        const next = this.chars[this.i];
        if (next === '*' || next === '+' || next === '?' || next === '{') {
          throw new RegexSyntaxError(`a second quantifier '${next}' at ${this.i}`);
        }
        parts.push({ t: 'rep', node: atom, min: q === '+' ? 1 : 0, max: q === '?' ? 1 : null });
      } else parts.push(atom);
    }
    return { t: 'cat', parts };
  }

  private atom(): Node {
    const ch = this.chars[this.i++]!;
    if (ch === '(') {
      if (this.chars[this.i] === '?') throw new RegexSyntaxError(`'(?' groups are not supported at ${this.i}`);
      const inner = this.alt();
      if (this.chars[this.i] !== ')') throw new RegexSyntaxError('an unclosed group');
      this.i++;
      return inner;
    }
    if (ch === '[') return { t: 'set', set: this.charClass() };
    if (ch === '.') return { t: 'set', set: ANY };
    if (ch === '^') return { t: 'bol' };
    if (ch === '$') return { t: 'eol' };
    if (ch === '\\') return { t: 'set', set: this.escape() };
    if (SPECIAL.has(ch)) throw new RegexSyntaxError(`'${ch}' at ${this.i - 1} must be escaped (\\${ch})`);
    return { t: 'set', set: single(cp(ch)) };
  }

  /** After `\`: a class (\d \w \s, or negated as \D \W \S) or punctuation standing for itself. */
  private escape(): CharSet {
    const ch = this.chars[this.i++];
    if (ch === undefined) throw new RegexSyntaxError('a trailing backslash');
    const set = CLASSES[ch.toLowerCase()];
    if (set !== undefined && /^[dwsDWS]$/.test(ch)) return ch === ch.toLowerCase() ? set : { ...set, negated: true };
    if (PUNCTUATION.test(ch)) return single(cp(ch));
    throw new RegexSyntaxError(`'\\${ch}' is not supported (use \\d \\w \\s or escape punctuation)`);
  }

  private charClass(): CharSet {
    const negated = this.chars[this.i] === '^';
    if (negated) this.i++;
    const ranges: [number, number][] = [];
    let first = true;
    for (;;) {
      const ch = this.chars[this.i++];
      if (ch === undefined) throw new RegexSyntaxError('an unclosed [');
      if (ch === ']' && !first) break;
      first = false;
      let low: number;
      if (ch === '\\') {
        const set = this.escape();
        if (set.negated || set.ranges.length !== 1 || set.ranges[0]![0] !== set.ranges[0]![1]) {
          if (set.negated) throw new RegexSyntaxError('\\D \\W \\S cannot be used inside [ ]');
          ranges.push(...set.ranges.map(([a, b]): [number, number] => [a, b]));
          continue;
        }
        low = set.ranges[0]![0];
      } else if (ch === '[') throw new RegexSyntaxError("'[' inside [ ] must be escaped");
      else low = cp(ch);
      if (this.chars[this.i] === '-' && this.chars[this.i + 1] !== undefined && this.chars[this.i + 1] !== ']') {
        this.i++;
        let hi = this.chars[this.i++]!;
        if (hi === '\\') {
          const set = this.escape();
          if (set.negated || set.ranges.length !== 1) throw new RegexSyntaxError('a class cannot end a range');
          hi = String.fromCodePoint(set.ranges[0]![0]);
        }
        if (cp(hi) < low) throw new RegexSyntaxError(`the range ${String.fromCodePoint(low)}-${hi} is reversed`);
        ranges.push([low, cp(hi)]);
      } else ranges.push([low, low]);
    }
    return { ranges, negated };
  }
}

const compile = (node: Node, prog: Inst[]): void => {
  switch (node.t) {
    case 'set':
      prog.push({ op: 'set', set: node.set });
      return;
    case 'bol':
    case 'eol':
      prog.push({ op: node.t });
      return;
    case 'cat':
      for (const part of node.parts) compile(part, prog);
      return;
    case 'alt': {
      const jumps: { op: 'jmp'; x: number }[] = [];
      node.options.forEach((option, k) => {
        if (k < node.options.length - 1) {
          const split: Inst = { op: 'split', x: prog.length + 1, y: 0 };
          prog.push(split);
          compile(option, prog);
          const jmp = { op: 'jmp' as const, x: 0 };
          prog.push(jmp);
          jumps.push(jmp);
          split.y = prog.length;
        } else compile(option, prog);
      });
      for (const jmp of jumps) jmp.x = prog.length;
      return;
    }
    case 'rep': {
      if (node.min === 1) {
        // x+: x, then split back to x or on.
        const start = prog.length;
        compile(node.node, prog);
        prog.push({ op: 'split', x: start, y: prog.length + 1 });
        return;
      }
      const at = prog.length;
      const split: Inst = { op: 'split', x: at + 1, y: 0 };
      prog.push(split);
      compile(node.node, prog);
      if (node.max === null) prog.push({ op: 'jmp', x: at });
      split.y = prog.length;
      return;
    }
  }
};

const inSet = (set: CharSet, c: number): boolean => {
  let found = false;
  for (const [a, b] of set.ranges) {
    if (c >= a && c <= b) {
      found = true;
      break;
    }
  }
  return found !== set.negated;
};

export interface SafeRegex {
  readonly source: string;
  /** Whether the pattern matches somewhere in `text` (a search; anchor with ^ and $). */
  test(text: string): boolean;
}

/** Compiles a pattern of the supported subset; throws RegexSyntaxError saying what is wrong. */
export const compileSafeRegex = (source: string): SafeRegex => {
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new RegexSyntaxError(`a pattern is at most ${MAX_PATTERN_LENGTH} characters, this one has ${source.length}`);
  }
  const prog: Inst[] = [];
  compile(new Parser(Array.from(source)).parse(), prog);
  prog.push({ op: 'match' });
  return { source, test: (text) => run(prog, Array.from(text)) };
};

/** Pike VM: the set of live instructions advances one code point at a time; O(text x pattern). */
const run = (prog: readonly Inst[], text: readonly string[]): boolean => {
  let current: number[] = [];
  let next: number[] = [];
  const mark = new Int32Array(prog.length).fill(-1);
  let generation = 0;
  /** Adds pc and every instruction reachable from it by free moves at position `at`; true on a match. */
  const add = (list: number[], pc: number, at: number): boolean => {
    const stack = [pc];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (mark[p] === generation) continue;
      mark[p] = generation;
      const inst = prog[p]!;
      if (inst.op === 'match') return true;
      if (inst.op === 'jmp') stack.push(inst.x);
      else if (inst.op === 'split') stack.push(inst.y, inst.x);
      else if (inst.op === 'bol') {
        if (at === 0) stack.push(p + 1);
      } else if (inst.op === 'eol') {
        if (at === text.length) stack.push(p + 1);
      } else list.push(p);
    }
    return false;
  };
  for (let at = 0; ; at++) {
    // A search: a new thread starts at every position.
    if (add(current, 0, at)) return true;
    if (at === text.length) return false;
    generation++;
    const c = cp(text[at]!);
    next.length = 0;
    for (const pc of current) {
      const inst = prog[pc] as { op: 'set'; set: CharSet };
      if (inSet(inst.set, c) && add(next, pc + 1, at + 1)) return true;
    }
    [current, next] = [next, current];
  }
};
