import { describe, expect, it } from 'vitest';
import { identityName } from '../src/app/identity.js';

/** The header read "admin · admin · default" for the bootstrap admin key. */

describe('identityName', () => {
  it('drops a key name that only repeats the role the header shows beside it', () => {
    expect(identityName({ keyName: 'admin', role: 'admin' })).toBeNull();
    expect(identityName({ keyName: ' Admin ', role: 'admin' })).toBeNull();
  });

  it('keeps a key name that says more than its role', () => {
    expect(identityName({ keyName: 'ci', role: 'editor' })).toBe('ci');
    expect(identityName({ keyName: 'alice laptop', role: 'viewer' })).toBe('alice laptop');
    expect(identityName({ keyName: 'admin', role: 'viewer' })).toBe('admin');
  });
});
