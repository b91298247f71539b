import { describe, expect, it } from 'vitest';
import { extractReferences, parsePromptFile, unusedVariables } from '../src/index.js';

const content = (text: string) => parsePromptFile(text, { file: 'x.prompt.yaml', defaultName: 'x' });

describe('unusedVariables', () => {
  it('lists declared variables no template mentions, in declaration order', () => {
    const prompt = content('template: "Hi {{a}}"\nvariables: { z: string, a: string, b: string }\n');
    expect(unusedVariables(prompt)).toEqual(['z', 'b']);
  });

  it('counts names inside sections and in slots as used', () => {
    const prompt = content(
      [
        'type: chat',
        'variables: { items: array, tone: string, sig: string }',
        'slots: { footer: "-- {{sig}}" }',
        'messages:',
        '  - { role: system, content: "{{#items}}{{tone}}: {{name}}{{/items}}{{> footer}}" }',
        '',
      ].join('\n'),
    );
    expect(unusedVariables(prompt)).toEqual([]);
  });

  it('extractReferences.names holds every root name at any depth', () => {
    const refs = extractReferences('{{a.b}}{{#s}}{{c}}{{^d}}{{e.f}}{{/d}}{{/s}}{{.}}');
    expect([...refs.names].sort()).toEqual(['a', 'c', 'd', 'e', 's']);
    expect([...refs.variables].sort()).toEqual(['a', 's']);
  });
});
