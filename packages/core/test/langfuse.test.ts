import { describe, expect, it } from 'vitest';
import {
  PromptopsError,
  fromLangfuse,
  langfuseCommitMessage,
  parseLangfuseCommit,
  toLangfusePrompt,
  type PromptContent,
} from '../src/index.js';

const refusal = (run: () => unknown): PromptopsError => {
  try {
    run();
  } catch (error) {
    if (error instanceof PromptopsError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('Langfuse prompts as promptops content', () => {
  it('maps a text prompt: variables declared, model and provider lifted out of config', () => {
    const content = fromLangfuse({
      name: 'greeter',
      type: 'text',
      prompt: 'Hello {{name}}, {{#items}}{{title}} {{/items}}{{user.city}}',
      config: { model: 'gpt-4o', provider: 'openai', temperature: 0.2 },
    });
    expect(content).toMatchObject({
      type: 'text',
      template: 'Hello {{name}}, {{#items}}{{title}} {{/items}}{{user.city}}',
      config: { provider: 'openai', model: 'gpt-4o', params: { temperature: 0.2 } },
      variables: {
        name: { type: 'string', required: true },
        items: { type: 'any', required: false },
        user: { type: 'any', required: false },
      },
      slots: {},
    });
  });

  it('maps a chat prompt and serves it back as Langfuse would answer it', () => {
    const input = {
      name: 'support/chat',
      type: 'chat' as const,
      prompt: [
        { role: 'system', content: 'Be brief.', type: 'chatmessage' as const },
        { role: 'user', content: '{{question}}', type: 'chatmessage' as const },
      ],
      config: { model: { id: 'x' }, max_tokens: 10 },
    };
    const content = fromLangfuse(input);
    const served = toLangfusePrompt({
      content,
      version: 3,
      message: langfuseCommitMessage({ commitMessage: 'shorter', version: 3, tags: ['a', 'b c'] }),
      labels: ['production'],
      tags: ['a', 'b c'],
    });
    expect(served).toEqual({
      name: 'support/chat',
      version: 3,
      type: 'chat',
      prompt: input.prompt,
      config: input.config,
      labels: ['production'],
      tags: ['a', 'b c'],
      commitMessage: 'shorter',
    });
  });

  it('refuses what has no counterpart, naming each field', () => {
    const error = refusal(() =>
      fromLangfuse({
        name: 'My Prompt',
        type: 'chat',
        prompt: [
          { role: 'tool', content: 'x' },
          { type: 'placeholder', name: 'history' },
          { role: 'user', content: '{{> footer}} @@@langfusePrompt:name=base|label=production@@@' },
        ],
        config: { name: 'n' },
      }),
    );
    expect(error.code).toBe('langfuse_unsupported');
    expect(error.kind).toBe('invalid');
    expect(error.issues?.map((i) => i.path)).toEqual([
      'name',
      'config.name',
      'prompt[0].role',
      'prompt[1]',
      'prompt[0].content',
    ]);
    expect(error.message).toContain('placeholder "history"');
    expect(error.message).toContain('role "tool"');
  });

  it('refuses a variable name promptops cannot declare, naming it', () => {
    const error = refusal(() => fromLangfuse({ name: 'p', prompt: 'Hi {{first-name}}' }));
    expect(error.code).toBe('langfuse_unsupported');
    expect(error.message).toContain('first-name');
  });

  it('refuses to serve content a Langfuse compile would render differently', () => {
    const content: PromptContent = {
      name: 'p',
      type: 'text',
      template: '{{> intro}} {{who}}',
      config: { params: {} },
      variables: { who: { type: 'string', required: false, default: 'you' } },
      slots: { intro: 'Hi' },
    };
    const error = refusal(() => toLangfusePrompt({ content, version: 1, message: '', labels: [], tags: [] }));
    expect(error.kind).toBe('unprocessable');
    expect(error.issues?.map((i) => i.path)).toEqual(['slots.intro', 'variables.who.default']);
  });

  it('keeps the Langfuse version, commit message and tags in commit trailers', () => {
    for (const commit of [
      { commitMessage: null, version: 7, tags: [] },
      { commitMessage: 'line one\n\nline two', version: 1, tags: ['x'] },
      { commitMessage: 'plain', tags: [] },
      { commitMessage: null, tags: [] },
    ]) {
      const parsed = parseLangfuseCommit(langfuseCommitMessage(commit));
      expect(parsed.commitMessage).toBe(commit.commitMessage);
      expect(parsed.version).toBe(commit.version);
      expect(parsed.tags).toEqual(commit.tags);
    }
    expect(parseLangfuseCommit('Tidy up\n\nSigned-off-by: a').commitMessage).toBe('Tidy up\n\nSigned-off-by: a');
  });
});
