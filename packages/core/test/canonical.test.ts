import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHA_PATTERN, canonicalJson, contentSha, sha256Hex, shortSha, useSha256 } from '../src/index.js';
import { jsonValueArb, seededRandom, shuffleKeys } from './arbitraries.js';

/** An IEEE 754 double from its 16-hex-digit bit pattern, as RFC 8785 Appendix B lists them. */
const double = (bits: string): number => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
};

describe('canonicalJson (RFC 8785)', () => {
  it('serializes the RFC 8785 section 3.2.3 example exactly', () => {
    // The input as written in the RFC, parsed by JSON.parse (so escapes and number spellings are the RFC's).
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`) as unknown;
    expect(canonicalJson(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // -0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('formats the double with bits %s as %s (RFC 8785 appendix B)', (bits, expected) => {
    expect(canonicalJson(double(bits))).toBe(expected);
    expect(canonicalJson([double(bits)])).toBe(`[${expected}]`);
  });

  it('formats 1e21 with an exponent and 1e20 without, and -0 as 0', () => {
    expect(canonicalJson({ a: 1e21, b: 1e20, c: -0, d: 1.5e-7, e: 0.1 + 0.2 })).toBe(
      '{"a":1e+21,"b":100000000000000000000,"c":0,"d":1.5e-7,"e":0.30000000000000004}',
    );
  });

  it('refuses numbers JSON cannot hold', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow();
    expect(() => canonicalJson([Number.NEGATIVE_INFINITY])).toThrow();
  });

  it('sorts keys by UTF-16 code units, not by code points (RFC 8785 section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // 😀 (U+1F600) sorts before דּ (U+FB33) because its first UTF-16 unit is 0xD83D < 0xFB33.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts nested keys and keeps array order', () => {
    expect(canonicalJson({ b: [3, 1, { z: 1, a: 2 }], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[3,1,{"a":2,"z":1}]}',
    );
    expect(canonicalJson({ aa: 1, a: 2, B: 3, b: 4, _: 5 })).toBe('{"B":3,"_":5,"a":2,"aa":1,"b":4}');
  });

  it('escapes control characters as lowercase \\u00xx, uses the short escapes, and leaves the rest raw', () => {
    expect(canonicalJson('\u0000\u0001\u001f\b\f\n\r\t"\\/\u007f\u00e9\u2028😀')).toBe(
      '"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\\"\\\\/\u007fé\u2028😀"',
    );
  });

  it('refuses lone surrogates (I-JSON)', () => {
    expect(() => canonicalJson('\ud800')).toThrow();
    expect(() => canonicalJson({ ['\udc00']: 1 })).toThrow();
  });

  it('drops undefined object members and refuses a value that is not JSON at all', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });

  it('has no whitespace and parses back to the same value', () => {
    fc.assert(
      fc.property(jsonValueArb, (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it('does not depend on key order at any level', () => {
    fc.assert(
      fc.property(jsonValueArb, fc.integer(), (value, seed) => {
        expect(canonicalJson(shuffleKeys(value, seededRandom(seed)))).toBe(canonicalJson(value));
      }),
    );
  });
});

describe('sha256Hex and contentSha', () => {
  it('matches the standard SHA-256 vectors over UTF-8', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const text of ['é', '😀', 'a\u0000b', '日本語']) {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });

  it('hashes the canonical JSON of a value', () => {
    fc.assert(
      fc.property(jsonValueArb, (value) => {
        const sha = contentSha(value);
        expect(sha).toMatch(SHA_PATTERN);
        expect(sha).toBe(createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex'));
      }),
    );
    expect(contentSha({ b: 1, a: 2 })).toBe(contentSha({ a: 2, b: 1 }));
    expect(contentSha({ a: 1 })).not.toBe(contentSha({ a: '1' }));
  });

  it('hashes with the digest a Node process hands in, to the same result as the portable one', () => {
    let calls = 0;
    const portable = useSha256((text) => {
      calls += 1;
      return createHash('sha256').update(text, 'utf8').digest('hex');
    });
    try {
      const value = { name: 'greeter', vars: { user_name: 'Zoë 😀' } };
      const native = contentSha(value);
      expect(calls).toBe(1);
      useSha256(portable);
      expect(contentSha(value)).toBe(native);
      expect(calls).toBe(1);
    } finally {
      useSha256(portable);
    }
  });

  it('shortens to 7 characters', () => {
    const sha = contentSha('x');
    expect(shortSha(sha)).toBe(sha.slice(0, 7));
    expect(SHA_PATTERN.test(sha.toUpperCase())).toBe(false);
  });
});
