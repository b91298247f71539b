import { InvalidArgumentError } from 'commander';

/** Option value parsers; commander turns their errors into usage errors (exit 2). */

export const integerOption =
  (what: string, min: number, max: number) =>
  (text: string): number => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}`);
    }
    return value;
  };
