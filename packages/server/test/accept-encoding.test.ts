import { describe, expect, it } from 'vitest';
import { negotiateEncoding } from '../src/request/accept-encoding.js';

describe('negotiateEncoding (Accept-Encoding with q-values, RFC 9110 12.5.3)', () => {
  const offered = ['br', 'gzip'] as const;
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate', 'gzip'], // Node's fetch by default
    ['gzip, deflate, br, zstd', 'br'], // browsers: the server prefers the smaller among equals
    ['br;q=0.5, gzip', 'gzip'],
    ['GZIP;Q=1.0, br;q=0.9', 'gzip'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['*', 'br'],
    ['*;q=0.5, gzip;q=0.8', 'gzip'],
    ['*, br;q=0', 'gzip'],
    ['identity', 'identity'],
    ['deflate', 'identity'],
    ['x-gzip', 'gzip'],
    ['gzip;q=0.001', 'gzip'],
    ['gzip;q=2', 'identity'], // a malformed weight counts as not acceptable
    ['gzip;q=abc, br;q=0.1', 'br'],
    [' br ; q=0.3 ,gzip ; q = 0.2', 'br'],
    ['gzip;level=9', 'gzip'],
  ])('%j -> %s', (header, expected) => {
    expect(negotiateEncoding(header, offered)).toBe(expected);
  });

  it('identity excluded and nothing else acceptable still answers identity (the RFC allows it)', () => {
    expect(negotiateEncoding('identity;q=0, deflate', offered)).toBe('identity');
  });

  it('identity preferred over codings with a lower weight', () => {
    expect(negotiateEncoding('identity;q=1, gzip;q=0.5', offered)).toBe('identity');
  });

  it('reads repeated headers as one list', () => {
    expect(negotiateEncoding(['gzip;q=0.2', 'br;q=0.4'], offered)).toBe('br');
  });

  it('offers only what it is given', () => {
    expect(negotiateEncoding('br', ['gzip'])).toBe('identity');
  });
});
