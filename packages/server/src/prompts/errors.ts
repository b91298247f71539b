import { PromptopsError } from '@promptops/core';

export const promptNotFound = (name: string): PromptopsError =>
  new PromptopsError('not_found', 'prompt_not_found', `prompt '${name}' does not exist in this project`, {
    fix: 'check the name with `promptops log` / GET /api/v1/prompts, or push it first',
  });
