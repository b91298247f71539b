import { describe, expect, it } from 'vitest';
import { actorNameOf, confusingKeyName, keyActorName } from '../src/index.js';

describe('actor names: users and service keys never share a name', () => {
  it('names a key acting as a user by the user, and a service key as key:NAME', () => {
    expect(actorNameOf({ name: 'alice laptop', user: 'alice' })).toBe('alice');
    expect(actorNameOf({ name: 'alice', user: null })).toBe('key:alice');
    expect(keyActorName('ci')).toBe('key:ci');
  });

  it("refuses a key name with ':' or a member's name in any case, unless the key acts as that member", () => {
    const members = ['alice', 'bob'];
    expect(confusingKeyName('ci deploy', members)).toBeNull();
    expect(confusingKeyName('key:alice', members)).toContain("':'");
    expect(confusingKeyName('alice', members)).toContain("member 'alice'");
    expect(confusingKeyName('Alice ', members)).toContain("member 'alice'");
    expect(confusingKeyName('alice', members, 'alice')).toBeNull();
    expect(confusingKeyName('bob', members, 'alice')).toContain("member 'bob'");
  });
});
