import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * The error codes the sources produce, found in the syntax tree: the code argument of `new PromptopsError`
 * (and its subclasses that take one) and of `super(…)` in their subclasses, of `sendError(reply, kind, code, …)`, and every `code: '…'`
 * property (response bodies and per-item errors). Conditional codes (`a ? 'x' : 'y'`) count both.
 */

export interface CodeUse {
  readonly code: string;
  /** The kind literal passed beside it, when there was one. */
  readonly kind: string | undefined;
  readonly file: string;
  readonly line: number;
}

const CODE = /^[a-z][a-z0-9_]*$/;
/** Zod's issue code, not ours. */
const NOT_OURS = new Set(['custom']);

const literals = (node: ts.Expression | undefined): string[] => {
  if (node === undefined) return [];
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isParenthesizedExpression(node)) return literals(node.expression);
  if (ts.isConditionalExpression(node)) return [...literals(node.whenTrue), ...literals(node.whenFalse)];
  return [];
};

const calleeName = (node: ts.Expression): string =>
  ts.isIdentifier(node) ? node.text : ts.isPropertyAccessExpression(node) ? node.name.text : '';

/** `(kind, code, …)`, `(code, …)` or `(status, code, …)`: the code is the first literal argument not a kind. */
const codeArgs = (args: readonly ts.Expression[], kinds: ReadonlySet<string>): { codes: string[]; kind?: string } => {
  const first = literals(args[0]);
  const second = literals(args[1]);
  if (args.length >= 2 && first.length > 0 && first.every((k) => kinds.has(k))) {
    return { codes: second, ...(first.length === 1 ? { kind: first[0] } : {}) };
  }
  if (first.length === 0 && second.length > 0) return { codes: second };
  return { codes: first };
};

/** The classes whose constructors take a code; the kind some imply (a usage error is `invalid`). */
const ERROR_CLASSES: ReadonlyMap<string, string | undefined> = new Map([
  ['PromptopsError', undefined],
  ['ApiError', undefined],
  ['UsageError', 'invalid'],
  ['RateLimitedError', 'rate_limited'],
]);

export const scanFile = (file: string, text: string, kinds: ReadonlySet<string>): CodeUse[] => {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const uses: CodeUse[] = [];
  const add = (codes: readonly string[], kind: string | undefined, node: ts.Node): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    for (const code of codes) {
      if (CODE.test(code) && !NOT_OURS.has(code)) uses.push({ code, kind, file, line });
    }
  };
  const visit = (node: ts.Node, base: string | undefined): void => {
    if (ts.isClassLike(node)) {
      const heritage = node.heritageClauses?.find((clause) => clause.token === ts.SyntaxKind.ExtendsKeyword);
      const parent = heritage?.types[0] === undefined ? undefined : calleeName(heritage.types[0].expression);
      ts.forEachChild(node, (child) => visit(child, parent));
      return;
    }
    const callee =
      ts.isNewExpression(node) && ERROR_CLASSES.has(calleeName(node.expression))
        ? calleeName(node.expression)
        : ts.isCallExpression(node) &&
            node.expression.kind === ts.SyntaxKind.SuperKeyword &&
            ERROR_CLASSES.has(base ?? '')
          ? base
          : undefined;
    if (callee !== undefined) {
      const found = codeArgs((node as ts.NewExpression | ts.CallExpression).arguments ?? [], kinds);
      add(found.codes, found.kind ?? ERROR_CLASSES.get(callee), node);
    } else if (ts.isCallExpression(node) && calleeName(node.expression) === 'sendError') {
      const kind = literals(node.arguments[1]);
      add(literals(node.arguments[2]), kind.length === 1 && kinds.has(kind[0]!) ? kind[0] : undefined, node);
    } else if (
      ts.isPropertyAssignment(node) &&
      (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) &&
      (node.name.text === 'code' || node.name.text === 'fallbackCode')
    ) {
      add(literals(node.initializer), undefined, node);
    }
    ts.forEachChild(node, (child) => visit(child, base));
  };
  visit(source, undefined);
  return uses;
};

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });

/** Every code use in packages/<name>/src for the TypeScript packages under `root`. */
export const scanPackages = (root: string, packages: readonly string[], kinds: ReadonlySet<string>): CodeUse[] =>
  packages.flatMap((name) =>
    sourceFiles(join(root, 'packages', name, 'src')).flatMap((file) =>
      scanFile(relative(root, file), readFileSync(file, 'utf8'), kinds),
    ),
  );
