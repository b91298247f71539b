import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_HEAD_FORMAT,
  auditEntryMac,
  auditHeadSignature,
  differingFields,
  formatAuditHead,
  headProblems,
  keyedChainProblems,
  parseAuditHead,
  readAuditStory,
} from '../src/index.js';

/** The pure half of verify's anchors: HMACs, exported heads, and what the audit story expects of rows. */

const KEY = 'k'.repeat(40);
const HASH = 'a'.repeat(64);

describe('audit HMACs and heads', () => {
  it('are HMAC-SHA256, bound to the project and to the head fields', () => {
    const expected = createHmac('sha256', KEY).update(`promptops-audit-entry/1:7:${HASH}`).digest('hex');
    expect(auditEntryMac(KEY, 7, HASH)).toBe(expected);
    expect(auditEntryMac(KEY, 8, HASH)).not.toBe(expected);
    const head = { project: 'default', seq: 3, hash: HASH };
    expect(auditHeadSignature(KEY, head)).not.toBe(auditHeadSignature(KEY, { ...head, seq: 2 }));
    expect(auditHeadSignature(KEY, head)).not.toBe(auditHeadSignature('x'.repeat(40), head));
  });

  it('round-trips a head file and names every bad field', () => {
    const head = { format: AUDIT_HEAD_FORMAT, project: 'default', seq: 3, hash: HASH } as const;
    expect(parseAuditHead(formatAuditHead(head, '2026-01-01T00:00:00.000Z'), 'head.json')).toEqual(head);
    expect(() => parseAuditHead('{"format":"x","seq":-1,"hash":"no"}', 'head.json')).toThrow(
      expect.objectContaining({
        code: 'invalid_audit_head',
        issues: [
          { path: 'format', message: `format must be "${AUDIT_HEAD_FORMAT}"` },
          { path: 'project', message: 'project must be the project name' },
          { path: 'seq', message: 'seq must be a positive integer' },
          { path: 'hash', message: 'hash must be 64 lowercase hex characters' },
        ],
      }),
    );
  });

  it('keyed chain: a bad HMAC, an unkeyed entry after a keyed one, an unkeyed newest entry', () => {
    const holds = (entry: { mac: string }) => entry.mac === 'good';
    expect(
      keyedChainProblems(
        [
          { seq: 1, mac: null },
          { seq: 2, mac: 'good' },
        ],
        holds,
      ),
    ).toEqual([]);
    expect(
      keyedChainProblems(
        [
          { seq: 1, mac: 'good' },
          { seq: 2, mac: 'bad' },
          { seq: 3, mac: null },
        ],
        holds,
      ).map((p) => [p.seq, p.problem]),
    ).toEqual([
      [2, 'mac_mismatch'],
      [3, 'unkeyed'],
    ]);
    expect(keyedChainProblems([{ seq: 1, mac: null }], holds).map((p) => p.problem)).toEqual(['unkeyed']);
  });

  it('head: extended, cut off, rewritten, or a bad signature', () => {
    const hashes = new Map([
      [1, 'h1'],
      [2, 'h2'],
    ]);
    const at = (seq: number) => hashes.get(seq);
    expect(headProblems({ seq: 2, hash: 'h2' }, at, 2, true)).toEqual([]);
    expect(headProblems({ seq: 3, hash: 'h3' }, at, 2, undefined)[0]?.problem).toBe('truncated');
    expect(headProblems({ seq: 2, hash: 'hx' }, at, 2, undefined)[0]?.problem).toBe('rewritten');
    expect(headProblems({ seq: 2, hash: 'h2' }, at, 2, false)[0]?.problem).toBe('head_signature_invalid');
  });
});

describe('the audit story', () => {
  const entry = (seq: number, action: string, data: Record<string, unknown>, actor = 'alice') => ({
    seq,
    at: `2026-01-01T00:00:0${seq}.000Z`,
    actor,
    action,
    data,
  });

  it('expects each row as its latest entry left it', () => {
    const story = readAuditStory([
      entry(1, 'version.created', { name: 'g', version: 1, sha: 's1', parentSha: null, message: 'm', deploymentId: 1 }),
      entry(2, 'label.forced', {
        name: 'g',
        label: 'production',
        kind: 'break-glass',
        fromSha: null,
        toSha: 's1',
        toVersion: 1,
        reason: 'why',
        deploymentId: 2,
      }),
      entry(3, 'key.created', { keyId: 'k1', name: 'ci', role: 'viewer', user: null }),
      entry(4, 'key.rotated', {
        keyId: 'k1',
        newKeyId: 'k2',
        name: 'ci',
        role: 'viewer',
        user: null,
        graceSeconds: 60,
      }),
      entry(5, 'member.added', { name: 'bob', role: 'viewer' }),
      entry(6, 'member.updated', { name: 'bob', role: 'editor', previousRole: 'viewer' }),
      entry(7, 'policy.set', { label: 'production', policy: { pattern: '*', approvals: 1 }, previous: null }),
      entry(8, 'policy.deleted', { label: 'production', pattern: '*' }),
    ]);
    expect(story.versions.get('g@v1')).toEqual({
      seq: 1,
      value: { sha: 's1', parentSha: null, author: 'alice', message: 'm', createdAt: '2026-01-01T00:00:01.000Z' },
    });
    expect(story.deployments.get(1)?.value).toMatchObject({ label: 'latest', kind: 'push', reason: 'm' });
    expect(story.deployments.get(2)?.value).toMatchObject({ kind: 'break-glass', actor: 'alice', reason: 'why' });
    expect(story.keys.get('k1')?.value).toMatchObject({ role: 'viewer', revokedAt: '2026-01-01T00:01:04.000Z' });
    expect(story.keys.get('k2')).toMatchObject({ seq: 4, value: { role: 'viewer', revokedAt: null } });
    expect(story.members.get('bob')).toEqual({ seq: 6, value: { role: 'editor' } });
    expect(story.policies.get('production *')).toEqual({ seq: 8, value: null });
  });

  it('compares only the recorded fields', () => {
    expect(differingFields({ role: 'viewer', owners: ['a'] }, { role: 'admin', owners: ['a'], extra: 1 })).toEqual([
      'role',
    ]);
  });
});
