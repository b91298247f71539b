import { PromptopsError } from './errors.js';
import { parseRef } from './refs.js';
import type { DeploymentKind } from './records.js';
import type { PromptContent } from './schema.js';

/**
 * A snapshot is what an SDK holds in memory: per prompt, where each label points and the content of
 * every version those labels (or pins) need. The server builds it, the SDK applies change events to it,
 * a lockfile can stand in for it, and `resolveFromSnapshot` is the one resolution both sides use.
 */

export interface SnapshotVersion {
  readonly version: number;
  readonly sha: string;
  readonly content: PromptContent;
}

export interface SnapshotPrompt {
  /** label -> sha */
  readonly labels: Readonly<Record<string, string>>;
  /** sha -> version */
  readonly versions: Readonly<Record<string, SnapshotVersion>>;
}

export interface Snapshot {
  readonly project: string;
  /** The change-feed position this snapshot includes (the project's audit seq); resume after it. */
  readonly cursor: number;
  readonly prompts: Readonly<Record<string, SnapshotPrompt>>;
}

export interface ResolveOptions {
  /** Defaults to `production`. */
  readonly label?: string;
  /** Pins an exact version: a full sha or a unique prefix of at least 7 characters. */
  readonly sha?: string;
}

export interface Resolution {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  /** The label that resolved it, or null when pinned by sha / version. */
  readonly label: string | null;
  readonly content: PromptContent;
}

export const DEFAULT_LABEL = 'production';

const own = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/**
 * Resolves `name` (optionally `name@ref`) against a snapshot without I/O. Returns undefined when the
 * snapshot does not have it, so the caller can try its fallback; throws only on a malformed ref.
 */
export const resolveFromSnapshot = (
  snapshot: Snapshot,
  nameOrRef: string,
  options: ResolveOptions = {},
): Resolution | undefined => {
  const at = nameOrRef.indexOf('@');
  const name = at === -1 ? nameOrRef : nameOrRef.slice(0, at);
  // Own properties only: a prompt or label named like `constructor` must not reach the prototype.
  const prompt = own(snapshot.prompts, name);
  if (prompt === undefined) return undefined;
  if (at !== -1 || options.sha !== undefined) {
    const ref = parseRef(at !== -1 ? nameOrRef.slice(at + 1) : (options.sha ?? ''));
    if (ref.kind === 'label') return byLabel(name, prompt, ref.label);
    const versions = Object.values(prompt.versions);
    const matches =
      ref.kind === 'version'
        ? versions.filter((v) => v.version === ref.version)
        : versions.filter((v) => v.sha.startsWith(ref.prefix));
    if (matches.length > 1) {
      throw new PromptopsError('conflict', 'ambiguous_ref', `'${nameOrRef}' matches several versions`, {
        fix: 'use more characters of the sha',
      });
    }
    const found = matches[0];
    return found && { name, version: found.version, sha: found.sha, label: null, content: found.content };
  }
  return byLabel(name, prompt, options.label ?? DEFAULT_LABEL);
};

const byLabel = (name: string, prompt: SnapshotPrompt, label: string): Resolution | undefined => {
  const sha = own(prompt.labels, label);
  const version = sha === undefined ? undefined : own(prompt.versions, sha);
  return version && { name, version: version.version, sha: version.sha, label, content: version.content };
};

/**
 * One label move on the change feed (`event: label` on GET /api/v1/stream and GET /api/v1/changes): the
 * label now points at `sha`, and `content` is that version's, so a client needs no second request.
 */
export interface LabelChangeEvent {
  readonly type: 'label';
  /** The audit seq of the move: the event id, and the cursor to resume after. */
  readonly seq: number;
  readonly name: string;
  readonly label: string;
  readonly sha: string;
  readonly version: number;
  readonly kind: DeploymentKind;
  readonly content: PromptContent;
}
