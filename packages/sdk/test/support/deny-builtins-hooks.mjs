const BUILTINS = new Set(['fs', 'fs/promises', 'path', 'crypto', 'os', 'child_process', 'net', 'http', 'url']);

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier)) {
    throw new Error(`denied builtin ${specifier} (imported by ${context.parentURL})`);
  }
  return next(specifier, context);
}
