import { PromptopsError, similarNames } from '@promptops/core';
import type { RegistryReads } from '../registry/store.js';

const quoted = (names: readonly string[]): string => names.map((name) => `'${name}'`).join(' or ');

/** `known`: the project's prompt names, for "did you mean …?" (see `unknownPrompt`). */
export const promptNotFound = (name: string, known: readonly string[] = []): PromptopsError => {
  const suggestions = similarNames(name, known);
  const list = '`promptops prompts` (GET /api/v1/prompts) lists them';
  return new PromptopsError('not_found', 'prompt_not_found', `prompt '${name}' does not exist in this project`, {
    fix:
      suggestions.length > 0
        ? `did you mean ${quoted(suggestions)}? ${list}`
        : `check the name: ${list}; or push it first (promptops push)`,
    details: { name, ...(suggestions.length > 0 ? { suggestions } : {}) },
  });
};

/** The not-found error for `name`, with the project's closest names: read only when a lookup failed. */
export const unknownPrompt = async (
  reads: Pick<RegistryReads, 'listPrompts'>,
  projectId: number,
  name: string,
): Promise<PromptopsError> => {
  const prompts = await reads.listPrompts(projectId);
  return promptNotFound(
    name,
    prompts.filter((prompt) => prompt.headSha !== null).map((prompt) => prompt.name),
  );
};
