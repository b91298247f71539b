import { describe, expect, it } from 'vitest';
import { parsePromptFile, type PromptContent } from '@promptops/core';
import { contentText } from '../src/commands/show.js';

/** `promptops show` of content stored before nesting was bounded: JSON instead of a stack overflow. */

const withParams = (depth: number): PromptContent => {
  let value: unknown = 1;
  for (let index = 0; index < depth; index += 1) value = [value];
  return {
    name: 'p',
    type: 'text',
    template: 'hi',
    config: { params: { p: value } },
    variables: {},
    slots: {},
  } as never;
};

describe('show content text', () => {
  it('shows ordinary content as a prompt file', () => {
    const content = withParams(3);
    expect(parsePromptFile(contentText(content, 'p'), { file: 'p.prompt.yaml', defaultName: 'p' })).toEqual(content);
  });

  it('shows content nested thousands deep as JSON', () => {
    const text = contentText(withParams(3000), 'p');
    expect(text.split('\n')[0]).toMatch(/^# nested deeper than a prompt file can show .*64 levels.*as JSON:$/);
    expect(JSON.parse(text.slice(text.indexOf('\n') + 1))).toMatchObject({ name: 'p', template: 'hi' });
  });
});
