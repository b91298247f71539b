import { describe, expect, it } from 'vitest';
import { buildFallback, defaultsFrom } from '../src/fallback.js';
import { Resolver } from '../src/resolver.js';
import {
  applyLabelEvent,
  ingestVersion,
  parseFeedEvent,
  validateSnapshot,
  type FeedEvent,
} from '../src/snapshot-store.js';
import { greeter, textPrompt, versionOf } from './support/fixtures.js';

const v17 = versionOf(greeter(17), 17);
const v18 = versionOf(greeter(18), 18);

const resolver = (): Resolver => {
  const r = new Resolver();
  r.setSnapshot(
    validateSnapshot(
      {
        project: 'p',
        cursor: 5,
        prompts: {
          customer_support_greeter: {
            labels: { production: v17.sha, staging: v18.sha },
            versions: { [v17.sha]: v17, [v18.sha]: v18 },
          },
        },
      },
      'test',
    ),
  );
  r.loaded = true;
  return r;
};

describe('resolver', () => {
  it('resolves by label, name@ref and { sha } with the same answers as core', () => {
    const r = resolver();
    expect(r.get('customer_support_greeter')).toMatchObject({
      sha: v17.sha,
      label: 'production',
      source: 'snapshot',
      variant: 'base',
      releaseSha: null,
    });
    expect(r.get('customer_support_greeter', { label: 'staging' }).sha).toBe(v18.sha);
    expect(r.get('customer_support_greeter@staging')).toMatchObject({ sha: v18.sha, label: 'staging' });
    expect(r.get('customer_support_greeter@v18')).toMatchObject({ sha: v18.sha, label: null });
    expect(r.get('customer_support_greeter', { sha: v17.sha.slice(0, 9) })).toMatchObject({ version: 17, label: null });
    // tenant, unitKey and context are accepted (reserved for overrides and rollouts) and change nothing yet.
    expect(r.get('customer_support_greeter', { tenant: 'acme', unitKey: 'user-1', context: { plan: 'pro' } }).sha).toBe(
      v17.sha,
    );
  });

  it('returns the same cached object until the prompt changes, then a fresh one', () => {
    const r = resolver();
    const first = r.get('customer_support_greeter');
    expect(r.get('customer_support_greeter')).toBe(first);
    expect(r.get('customer_support_greeter', {})).toBe(first);
    expect(r.get('customer_support_greeter', { label: 'production' })).toBe(first);
    expect(r.get('customer_support_greeter@staging')).toBe(r.get('customer_support_greeter@staging'));
    expect(Object.isFrozen(first)).toBe(true);

    const event = parseFeedEvent({
      type: 'label',
      seq: 6,
      name: 'customer_support_greeter',
      label: 'production',
      sha: v18.sha,
      version: 18,
      kind: 'promote',
    }) as Extract<FeedEvent, { type: 'label' }>;
    const known = r.current.prompts['customer_support_greeter']!.versions[v18.sha]!;
    const { snapshot } = applyLabelEvent(
      r.current,
      event,
      ingestVersion(event.name, v18.sha, 18, undefined, 'test', known),
    );
    r.updateSnapshot(snapshot, 'customer_support_greeter');
    const second = r.get('customer_support_greeter');
    expect(second).not.toBe(first);
    expect(second.sha).toBe(v18.sha);
    expect(first.sha).toBe(v17.sha); // results already handed out do not change under the caller
  });

  it('falls back per request: the snapshot first, then the lockfile and in-code defaults', () => {
    const r = resolver();
    const faq = textPrompt('faq', 'Answer: {{question}}');
    r.setFallback(buildFallback(undefined, defaultsFrom({ faq, customer_support_greeter: greeter(16) })));
    expect(r.get('faq')).toMatchObject({ source: 'fallback', version: 0 });
    expect(r.get('customer_support_greeter')).toMatchObject({ source: 'snapshot', sha: v17.sha });
    expect(r.get('customer_support_greeter', { label: 'canary' })).toMatchObject({
      source: 'fallback',
      label: 'canary',
    });
  });
});
