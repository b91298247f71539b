import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFromSnapshot, type Snapshot } from '@promptops/core';
import { openTestRegistry, textContent, type TestRegistry } from './support/registry.js';

/** Prompt and label names are data: names like `constructor` must never reach an object's prototype. */
describe('snapshot with prototype-like names', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await openTestRegistry('sqlite');
    for (const name of ['constructor', '__proto__', 'tostring']) {
      const pushed = await registry.app.inject({
        method: 'POST',
        url: `/api/v1/prompts/${name}/versions`,
        headers: { authorization: `Bearer ${registry.keys.admin}` },
        payload: { content: textContent(name, `I am ${name}`), parent: null },
      });
      expect(pushed.statusCode, name).toBe(name === '__proto__' ? 400 : 201);
    }
  });
  afterAll(async () => {
    await registry.close();
  });

  it('serves the snapshot and resolves from it', async () => {
    const response = await registry.app.inject({
      method: 'GET',
      url: '/api/v1/snapshot',
      headers: { authorization: `Bearer ${registry.keys.viewer}` },
    });
    expect(response.statusCode).toBe(200);
    const snapshot = response.json() as Snapshot;
    expect(Object.keys(snapshot.prompts).sort()).toEqual(['constructor', 'tostring']);
    expect(resolveFromSnapshot(snapshot, 'constructor', { label: 'latest' })?.version).toBe(1);
    expect(resolveFromSnapshot(snapshot, 'tostring', { label: 'constructor' })).toBeUndefined();
    expect(resolveFromSnapshot(snapshot, 'hasOwnProperty')).toBeUndefined();
  });
});
