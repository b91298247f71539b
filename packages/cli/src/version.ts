import { readFileSync } from 'node:fs';

/** The CLI's own version, from its package.json (the same relative path from src/, dist/ and the bundle). */
export const cliVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
};
