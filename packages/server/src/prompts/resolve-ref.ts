import { PromptopsError, parseRef, shortSha } from '@promptops/core';
import type { LabelRow, PromptRow, RegistryReads, VersionRow } from '../registry/store.js';

/** Resolves `v17`, a sha (prefix) or a label to one version of a prompt; the one place refs are resolved. */
export const resolveRef = async (
  reads: RegistryReads,
  prompt: Pick<PromptRow, 'id' | 'name' | 'headVersion'>,
  refText: string,
  /** The prompt's labels when the caller has them already (saves a query on the hot path). */
  knownLabels?: readonly LabelRow[],
  /** Versions are immutable, so a cache by sha is always safe. */
  bySha: (promptId: number, sha: string) => Promise<VersionRow | undefined> = (id, sha) =>
    reads.getVersionBySha(id, sha),
): Promise<VersionRow> => {
  const ref = parseRef(refText);
  const notFound = (what: string, fix: string): PromptopsError =>
    new PromptopsError('not_found', 'version_not_found', `prompt '${prompt.name}' has no ${what}`, {
      fix,
      details: { name: prompt.name, ref: refText },
    });
  switch (ref.kind) {
    case 'version': {
      const row = await reads.getVersionByNumber(prompt.id, ref.version);
      if (!row)
        throw notFound(
          `version v${ref.version}`,
          `the latest is v${prompt.headVersion}; see \`promptops log ${prompt.name}\``,
        );
      return row;
    }
    case 'sha': {
      const rows = await reads.findVersionsByShaPrefix(prompt.id, ref.prefix, 2);
      if (rows.length === 0)
        throw notFound(`version with sha ${ref.prefix}`, `see \`promptops log ${prompt.name}\` for its shas`);
      if (rows.length > 1) {
        throw new PromptopsError(
          'conflict',
          'ambiguous_ref',
          `sha prefix ${ref.prefix} matches several versions of '${prompt.name}'`,
          {
            fix: 'use more characters of the sha',
            details: { matches: rows.map((row) => ({ version: row.version, sha: shortSha(row.sha) })) },
          },
        );
      }
      return rows[0]!;
    }
    case 'label': {
      const label = knownLabels
        ? knownLabels.find((l) => l.label === ref.label)
        : await reads.getLabel(prompt.id, ref.label);
      if (!label) {
        throw new PromptopsError(
          'not_found',
          'label_not_found',
          `prompt '${prompt.name}' has no label '${ref.label}'`,
          {
            fix: `promote a version first: promptops promote ${prompt.name} vN --label ${ref.label}`,
          },
        );
      }
      const row = await bySha(prompt.id, label.sha);
      if (!row)
        throw notFound(
          `version ${label.sha} (label ${ref.label})`,
          'run `promptops verify`: the label points at a missing version',
        );
      return row;
    }
  }
};
