import { describe, expect, it } from 'vitest';
import { Resolver } from '../src/resolver.js';
import { applyLabelEvent, applyLabelRulesChange, ingestVersion, validateSnapshot } from '../src/snapshot-store.js';
import { greeter, versionOf } from './support/fixtures.js';

/**
 * A plain get(name) is answered from a map of fixed answers (one lookup, whatever serves the label). These
 * check that the map never outlives what it answered: label rules matching everyone, a label move, a rules
 * event, and `name@label` pins, which it must not keep.
 */

const NAME = 'customer_support_greeter';
const v17 = versionOf(greeter(17), 17);
const v18 = versionOf(greeter(18), 18);

const resolverWith = (labelRules?: unknown): Resolver => {
  const r = new Resolver();
  r.setSnapshot(
    validateSnapshot(
      {
        project: 'p',
        cursor: 5,
        prompts: {
          [NAME]: {
            labels: { production: v17.sha, beta: v18.sha },
            versions: { [v17.sha]: v17, [v18.sha]: v18 },
            ...(labelRules === undefined ? {} : { labelRules }),
          },
        },
      },
      'test',
    ),
  );
  r.loaded = true;
  return r;
};

describe('plain get', () => {
  it('serves a label rule that matches everyone, the same object each time', () => {
    const r = resolverWith({ production: [{ when: [], serve: { label: 'beta' } }] });
    const first = r.get(NAME);
    expect(first).toMatchObject({ sha: v18.sha, label: 'beta', labelRule: 0 });
    expect(r.get(NAME)).toBe(first);
    // With a context that matches no rule but the empty one, the same outcome.
    expect(r.get(NAME, { context: { plan: 'free' } })).toBe(first);
  });

  it('follows a label move and a rules event', () => {
    const r = resolverWith();
    expect(r.get(NAME).sha).toBe(v17.sha);
    const moved = applyLabelEvent(
      r.current,
      {
        type: 'label',
        seq: 6,
        name: NAME,
        label: 'production',
        sha: v18.sha,
        version: 18,
        kind: 'promote',
        content: v18.content,
      },
      ingestVersion(NAME, v18.sha, 18, v18.content, 'test'),
    );
    r.updateSnapshot(moved.snapshot, NAME);
    expect(r.get(NAME).sha).toBe(v18.sha);
    const ruled = applyLabelRulesChange(r.current, {
      type: 'label_rules',
      seq: 7,
      name: NAME,
      label: 'production',
      rules: [{ when: [], serve: { version: v17 } }],
    });
    r.updateSnapshot(ruled, NAME);
    expect(r.get(NAME)).toMatchObject({ sha: v17.sha, label: 'production', labelRule: 0 });
    const cleared = applyLabelRulesChange(r.current, {
      type: 'label_rules',
      seq: 8,
      name: NAME,
      label: 'production',
      rules: null,
    });
    r.updateSnapshot(cleared, NAME);
    expect(r.get(NAME)).toMatchObject({ sha: v18.sha, labelRule: null });
  });

  it('does not keep name@label answers past a change', () => {
    const r = resolverWith();
    expect(r.get(`${NAME}@beta`).sha).toBe(v18.sha);
    const moved = applyLabelEvent(
      r.current,
      {
        type: 'label',
        seq: 6,
        name: NAME,
        label: 'beta',
        sha: v17.sha,
        version: 17,
        kind: 'promote',
        content: v17.content,
      },
      ingestVersion(NAME, v17.sha, 17, v17.content, 'test'),
    );
    r.updateSnapshot(moved.snapshot, NAME);
    expect(r.get(`${NAME}@beta`).sha).toBe(v17.sha);
  });
});
