import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { PromptopsError, parsePromptFile, type PromptContent } from '../src/index.js';

export const FIXTURE_FILE = 'customer_support_greeter.prompt.yaml';
export const GREETER_NAME = 'customer_support_greeter';
/** The sha of the demo's greeter (v17), computed independently (Python json + hashlib) and by core. */
export const GREETER_SHA = '6504af8427b046d43bfaa6070bedf3f5e39b1b53c360e108cb18126f7d5f9ad0';

export const readFixture = (file = FIXTURE_FILE): string =>
  readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8');

/** v17 of the greeter, parsed from its fixture. */
export const greeterV17 = (): PromptContent =>
  parsePromptFile(readFixture(), { file: FIXTURE_FILE, defaultName: GREETER_NAME });

/** v18: the "small wording fix" that drops "Always greet the user by name." */
export const greeterV18 = (): PromptContent =>
  parsePromptFile(readFixture().replace('      Always greet the user by name.\n', ''), {
    file: FIXTURE_FILE,
    defaultName: GREETER_NAME,
  });

/** Runs `fn`, asserts it throws a PromptopsError, and returns the error for further checks. */
export const catchPromptopsError = (fn: () => unknown): PromptopsError => {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a PromptopsError to be thrown').toBeInstanceOf(PromptopsError);
  return thrown as PromptopsError;
};

/** A text prompt content with defaults for everything not given. */
export const textContent = (template: string, extra: Partial<Omit<PromptContent, 'type'>> = {}): PromptContent =>
  ({
    name: 'p',
    type: 'text',
    template,
    config: { params: {} },
    variables: {},
    slots: {},
    ...extra,
  }) as PromptContent;
