import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PromptopsError,
  formatOverrideFile,
  overrideSha,
  overrideTargetFromPath,
  parseOverride,
  parseOverrideFile,
} from '../src/index.js';

/** `overrides/<tenant>/<name>.override.yaml`: path -> target, parse/format round trip, errors naming the field. */

const target = { file: 'prompts/overrides/acme/greeter.override.yaml', tenant: 'acme', name: 'greeter' };

const issuesOf = (text: string): { path: string; message: string }[] => {
  try {
    parseOverrideFile(text, target);
  } catch (error) {
    expect(error).toBeInstanceOf(PromptopsError);
    expect((error as PromptopsError).message).toContain(target.file);
    return [...((error as PromptopsError).issues ?? [])];
  }
  throw new Error('expected the file to be refused');
};

describe('override files', () => {
  it('names tenant and prompt from the path', () => {
    expect(overrideTargetFromPath('acme/support/greeter.override.yaml')).toEqual({
      tenant: 'acme',
      name: 'support/greeter',
    });
    expect(() => overrideTargetFromPath('greeter.override.yaml')).toThrow(/tenant folder/);
    expect(() => overrideTargetFromPath('not a tenant/greeter.override.yaml')).toThrow(/is not a tenant id/);
  });

  it('refuses unknown fields and bad values, naming each field', () => {
    expect(issuesOf('colour: red\n').map((i) => i.path)).toEqual(['colour']);
    expect(issuesOf('template: x\nslots: { a: b }\n').map((i) => i.path)).toEqual(['template']);
    expect(issuesOf('params: { temperature: 5 }\n').map((i) => i.path)).toEqual(['params.temperature']);
    expect(issuesOf('params: { top_p: 1 }\n')[0]!.message).toMatch(/unknown field "top_p"/);
    expect(issuesOf('label: 3\n').map((i) => i.path)).toEqual(['label']);
    expect(issuesOf('slots: [\n').map((i) => i.path)).toEqual(['(yaml)']);
  });

  it('reads back what it writes: the same override sha, label, base and message', () => {
    const text = fc.string({ maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record(
          {
            slots: fc.dictionary(fc.constantFrom('greeting', 'closing', 'a b'), text, { maxKeys: 3 }),
            variables: fc.dictionary(fc.constantFrom('topic', 'tone'), fc.oneof(text, fc.integer(), fc.boolean())),
            params: fc.record(
              { temperature: fc.integer({ min: 0, max: 20 }).map((t) => t / 10), model: fc.constantFrom('gpt-4o') },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: [] },
        ),
        fc.constantFrom('production', 'staging'),
        fc.option(fc.constantFrom('v3', 'abcdef1')),
        fc.option(text),
        (raw, label, base, message) => {
          const override = parseOverride(raw);
          const back = parseOverrideFile(formatOverrideFile({ override, label, base, message }), target);
          expect(overrideSha(back.override)).toBe(overrideSha(override));
          expect(back).toMatchObject({ label, base, tenant: 'acme', name: 'greeter' });
          expect(back.message).toBe(message === '' ? null : message);
        },
      ),
      { numRuns: 200 },
    );
  });
});
