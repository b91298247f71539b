import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABEL_PATTERN, assertLabelName, formatRef, parseNameRef, parseRef } from '../src/index.js';
import { promptNameArb } from './arbitraries.js';
import { catchPromptopsError } from './helpers.js';

const SHA = '6504af8427b046d43bfaa6070bedf3f5e39b1b53c360e108cb18126f7d5f9ad0';
const hexArb = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: min, maxLength: max });

describe('parseRef', () => {
  it('reads versions', () => {
    expect(parseRef('v17')).toEqual({ kind: 'version', version: 17 });
    expect(parseRef('v1')).toEqual({ kind: 'version', version: 1 });
    expect(parseRef('v999999999')).toEqual({ kind: 'version', version: 999999999 });
    expect(parseRef(' v17 ')).toEqual({ kind: 'version', version: 17 });
  });

  it('reads shas and sha prefixes of 7 to 64 lowercase hex characters', () => {
    expect(parseRef(SHA)).toEqual({ kind: 'sha', prefix: SHA });
    expect(parseRef('6504af8')).toEqual({ kind: 'sha', prefix: '6504af8' });
    expect(parseRef('deadbeef')).toEqual({ kind: 'sha', prefix: 'deadbeef' });
    expect(parseRef('1234567')).toEqual({ kind: 'sha', prefix: '1234567' });
    fc.assert(
      fc.property(hexArb(7, 64), (prefix) => {
        expect(parseRef(prefix)).toEqual({ kind: 'sha', prefix });
      }),
    );
  });

  it('reads labels', () => {
    for (const label of ['production', 'staging', 'latest', 'canary-2', 'eu_west', 'p', 'abcdef']) {
      expect(parseRef(label)).toEqual({ kind: 'label', label });
    }
  });

  it.each([
    ['v0', 'version zero does not exist'],
    ['v007', 'leading zeros'],
    ['v1234567890', 'more digits than a version has'],
    ['V1', 'uppercase V'],
    ['123abc', '6 hex characters: too short for a sha prefix'],
    ['012345', '6 hex digits'],
    ['ABCDEF1', 'uppercase hex'],
    ['6504AF8427', 'mixed-case hex'],
    [SHA + '0', '65 hex characters'],
    ['', 'empty'],
    ['   ', 'blank'],
    ['a b', 'a space inside'],
    ['Production', 'uppercase label'],
    ['-prod', 'leading dash'],
    ['prod!', 'punctuation'],
    ['l'.repeat(64), 'a label longer than 63 characters'],
    ['v17@x', 'an @'],
  ])('refuses %j (%s)', (text) => {
    const error = catchPromptopsError(() => parseRef(text));
    expect(error.code).toBe('invalid_ref');
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain(`"${text}"`);
    expect(error.fix).toMatch(/v17/);
  });

  it('formats refs back to the text they came from', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1, max: 999999999 }).map((n) => `v${n}`),
          hexArb(7, 64),
          fc.constantFrom('production', 'staging', 'latest', 'canary-2'),
        ),
        (text) => {
          expect(formatRef(parseRef(text))).toBe(text);
        },
      ),
    );
  });
});

describe('assertLabelName', () => {
  it('accepts ordinary label names', () => {
    for (const label of [
      'production',
      'staging',
      'latest',
      'canary-2',
      'eu_west',
      'p',
      'beta1',
      'abcdef',
      'v',
      'version',
    ]) {
      expect(() => assertLabelName(label)).not.toThrow();
    }
  });

  it.each([
    ['v3', 'reads as a version'],
    ['v17', 'reads as a version'],
    ['v0', 'reads as a version'],
    ['v01', 'reads as a version'],
    ['deadbeef1', 'reads as a sha prefix'],
    ['deadbee', 'reads as a sha prefix'],
    ['cafebabe', 'reads as a sha prefix'],
    ['Production', 'uppercase'],
    ['1st', 'starts with a digit'],
    ['', 'empty'],
    ['a b', 'space'],
    ['a'.repeat(64), 'too long'],
  ])('refuses %j (%s)', (label) => {
    const error = catchPromptopsError(() => assertLabelName(label));
    expect(error.code).toBe('invalid_label');
    expect(error.message).toContain(`"${label}"`);
    expect(error.fix).toMatch(/version|sha/);
  });

  it('accepts only names that parseRef reads back as that same label', () => {
    const labelish = fc.string({
      unit: fc.constantFrom(...'abcdefv0123456789_-x'.split('')),
      minLength: 1,
      maxLength: 12,
    });
    fc.assert(
      fc.property(labelish, (text) => {
        let accepted = true;
        try {
          assertLabelName(text);
        } catch {
          accepted = false;
        }
        if (accepted) {
          expect(LABEL_PATTERN.test(text)).toBe(true);
          expect(parseRef(text)).toEqual({ kind: 'label', label: text });
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseNameRef', () => {
  it('splits NAME@REF, with folders in the name', () => {
    expect(parseNameRef('support/greeter@production')).toEqual({
      name: 'support/greeter',
      ref: { kind: 'label', label: 'production' },
    });
    expect(parseNameRef('customer_support_greeter@v17')).toEqual({
      name: 'customer_support_greeter',
      ref: { kind: 'version', version: 17 },
    });
    expect(parseNameRef(`a/b/c.d-e@${SHA.slice(0, 12)}`)).toEqual({
      name: 'a/b/c.d-e',
      ref: { kind: 'sha', prefix: SHA.slice(0, 12) },
    });
  });

  it('uses the fallback ref when there is no @', () => {
    expect(parseNameRef('support/greeter', 'latest')).toEqual({
      name: 'support/greeter',
      ref: { kind: 'label', label: 'latest' },
    });
    expect(parseNameRef('support/greeter@v2', 'latest').ref).toEqual({ kind: 'version', version: 2 });
  });

  it('refuses a name@ref without a ref', () => {
    for (const text of ['support/greeter', 'support/greeter@']) {
      const error = catchPromptopsError(() => parseNameRef(text));
      expect(error.code).toBe('missing_ref');
      expect(error.fix).toContain('NAME@v17');
    }
  });

  it('refuses bad names and bad refs', () => {
    for (const text of ['Support/greeter@v1', '/greeter@v1', 'support//greeter@v1', '@v1', 'a b@v1', 'greeter/@v1']) {
      expect(catchPromptopsError(() => parseNameRef(text)).code).toBe('invalid_name');
    }
    for (const text of ['greeter@v0', 'greeter@V1', 'greeter@a b', 'greeter@ABCDEF1']) {
      expect(catchPromptopsError(() => parseNameRef(text)).code).toBe('invalid_ref');
    }
  });

  it('reads back any prompt name with any ref', () => {
    fc.assert(
      fc.property(promptNameArb, fc.integer({ min: 1, max: 99999 }), hexArb(7, 64), (name, version, prefix) => {
        expect(parseNameRef(`${name}@v${version}`)).toEqual({ name, ref: { kind: 'version', version } });
        expect(parseNameRef(`${name}@${prefix}`)).toEqual({ name, ref: { kind: 'sha', prefix } });
        expect(parseNameRef(`${name}@production`)).toEqual({ name, ref: { kind: 'label', label: 'production' } });
      }),
    );
  });
});
