import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, tempDir, writeAt } from './helpers.js';

/**
 * `promptops import promptfoo`: varied promptfoo configs written for the test (text and chat prompts, CSV and
 * JSONL tests, `---` files, globs, defaultTest with options, provider keys). Each converts, passes
 * `promptops check`, and loads and runs in `promptops eval --provider simulated`; or fails naming the file
 * and the field.
 */

const SECRET = 'sk-test-DO-NOT-WRITE-9f8e7d';

interface Imported {
  written: string[];
  prompts: { name: string; file: string; type: string; variables: string[]; origin: string }[];
  suites: { name: string; file: string; prompt: string; provider: string; cases: number; dataset: string | null }[];
  skipped: { origin: string; reason: string }[];
  warnings: string[];
}

interface Evaluated {
  suites: { file: string; run: { suite: { name: string }; cases: { id: string; error: string | null }[] } }[];
}

const project = async (files: Record<string, string>): Promise<string> => {
  const cwd = await tempDir('promptops-promptfoo-');
  for (const [path, text] of Object.entries(files)) await writeAt(cwd, path, text);
  return cwd;
};

const allText = async (root: string): Promise<string> => {
  const out: string[] = [];
  for (const dir of ['prompts', 'evals']) {
    const names = await readdir(join(root, dir), { recursive: true }).catch(() => [] as string[]);
    for (const name of names) out.push(await readFile(join(root, dir, name), 'utf8').catch(() => ''));
  }
  return out.join('\n');
};

/** Imports, then checks and evaluates with the simulated provider: the converted project must be sound. */
const convertCheckEval = async (cwd: string): Promise<{ imported: Imported; evaluated: Evaluated; human: string }> => {
  const result = await run(['import', 'promptfoo', 'promptfooconfig.yaml', '--json'], { cwd });
  expect(result.code, result.stderr + result.stdout).toBe(0);
  const imported = result.json<Imported>();
  const check = await run(['check', '--no-evals', '--json'], { cwd });
  expect(check.code, check.stdout).toBe(0);
  const evaluated = await run(['eval', '--provider', 'simulated', '--no-cache', '--json'], { cwd });
  expect([0, 1], evaluated.stderr).toContain(evaluated.code);
  const parsed = evaluated.json<Evaluated>();
  for (const suite of parsed.suites)
    for (const c of suite.run.cases) expect(c.error, `${suite.file} ${c.id}`).toBeNull();
  const human = await run(['import', 'promptfoo', 'promptfooconfig.yaml', '--force'], { cwd });
  expect(human.code).toBe(0);
  return { imported, evaluated: parsed, human: human.stdout };
};

describe('promptops import promptfoo', () => {
  it('text prompts split on ---, tests from CSV, defaultTest options and a provider key', async () => {
    const cwd = await project({
      'prompts/translate.txt': [
        'Translate to French: {{ text }}',
        '---',
        'Translate to German: {{text}}. Be {{ tone | lower }}.',
      ].join('\n'),
      'schema.json': JSON.stringify({ type: 'json_object' }),
      'tests.csv': [
        'text,tone,expected,__expected1,__expected2,__prefix',
        'Hello,formal,Bonjour,contains: {{expected}},"javascript: output.length < 99",>>',
        'Bye,casual,Salut,icontains: {{ expected }},,',
      ].join('\n'),
      'promptfooconfig.yaml': [
        'description: Translation',
        'prompts: [file://prompts/translate.txt]',
        'providers:',
        '  - id: openai:chat:gpt-4o-mini',
        '    config:',
        `      apiKey: ${SECRET}`,
        '      temperature: 0.1',
        '      response_format: file://schema.json',
        '      organization: acme',
        'defaultTest:',
        '  options:',
        '    provider: openai:gpt-4o',
        '    transform: output.trim()',
        '  assert:',
        '    - type: llm-rubric',
        '      value: is a translation',
        'tests: file://tests.csv',
        'outputPath: results.json',
      ].join('\n'),
    });
    const { imported, evaluated, human } = await convertCheckEval(cwd);
    expect(imported.prompts.map((p) => [p.name, p.variables])).toEqual([
      ['translate-1', ['text']],
      ['translate-2', ['text', 'tone']],
    ]);
    expect(imported.suites.map((s) => [s.file, s.cases, s.dataset, s.provider])).toEqual([
      ['evals/translate-1.eval.yaml', 2, 'evals/translate-1.cases.jsonl', 'openai:gpt-4o-mini'],
      ['evals/translate-2.eval.yaml', 2, 'evals/translate-2.cases.jsonl', 'openai:gpt-4o-mini'],
    ]);
    // `expected` is read only by assertions: written into them per case, not declared on the prompt.
    const dataset = (await readFile(join(cwd, 'evals/translate-1.cases.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(dataset[0] ?? '{}')).toMatchObject({
      id: 'tests.csv#1',
      vars: { text: 'Hello' },
      assert: [{ type: 'contains', value: 'Bonjour' }],
    });
    const suite = await readFile(join(cwd, 'evals/translate-1.eval.yaml'), 'utf8');
    expect(suite).toContain('apiKeyEnv: OPENAI_API_KEY');
    expect(suite).toContain('type: json_object');
    expect(suite).toMatch(/provider: openai:gpt-4o\b/);
    const warnings = imported.warnings.join('\n');
    expect(warnings).toMatch(
      /apiKey: a key written in the config is not copied; put it in the environment variable OPENAI_API_KEY/,
    );
    expect(warnings).toMatch(/javascript" has no promptops counterpart/);
    expect(warnings).toMatch(/defaultTest\.options\.transform is not imported/);
    expect(warnings).toMatch(/tests\.csv: column __prefix is not imported/);
    expect(warnings).toMatch(/filter "lower"/);
    expect(warnings).toMatch(/config\.organization: not a request parameter/);
    expect(warnings).toMatch(/outputPath: has no promptops counterpart/);
    // The key is in no written file and in no output.
    expect(await allText(cwd)).not.toContain(SECRET);
    expect(JSON.stringify(imported) + human).not.toContain(SECRET);
    expect(evaluated.suites.map((s) => s.run.cases.length)).toEqual([2, 2]);
    expect(human).toMatch(/converted promptfooconfig\.yaml: 2 prompts, 2 suites/);
    expect(human).toContain('text prompt, variables text, tone  from prompts[0] (prompts/translate.txt), 2 of 2');
    expect(imported.warnings.join('\n')).toMatch(/translate-1: tone is read by neither/);
  });

  it('chat prompts from a glob (JSON and YAML), JSONL tests, two providers', async () => {
    const cwd = await project({
      'prompts/chat/support.json': JSON.stringify([
        { role: 'system', content: 'You help {{ company }} customers.' },
        { role: 'user', content: '{{question}}' },
      ]),
      'prompts/chat/sales.yaml': [
        '- role: system',
        '  content: You sell for {{company}}.',
        '- role: user',
        '  content: "{{ question }}"',
      ].join('\n'),
      'cases.jsonl': [
        JSON.stringify({
          vars: { company: 'Acme', question: 'Price?', answer: 'ten' },
          assert: [{ type: 'icontains', value: '{{answer}}' }],
        }),
        JSON.stringify({
          vars: { company: 'Acme', question: 'Refund?' },
          description: 'refunds',
          metadata: { area: 'billing' },
        }),
      ].join('\n'),
      'promptfooconfig.yaml': [
        'prompts: [file://prompts/chat/*]',
        'providers:',
        '  - anthropic:messages:claude-3-5-haiku-latest',
        '  - id: openai:gpt-4o',
        '    label: gpt4o',
        '    config: { apiKey: "{{ env.MY_OPENAI_KEY }}", max_tokens: 200 }',
        'tests: [file://cases.jsonl]',
      ].join('\n'),
    });
    const { imported, evaluated } = await convertCheckEval(cwd);
    expect(imported.prompts.map((p) => [p.name, p.type, p.variables])).toEqual([
      ['sales', 'chat', ['company', 'question']],
      ['support', 'chat', ['company', 'question']],
    ]);
    expect(imported.suites.map((s) => [s.name, s.provider])).toEqual([
      ['sales-claude-3-5-haiku-latest', 'anthropic:claude-3-5-haiku-latest'],
      ['sales-gpt4o', 'openai:gpt-4o'],
      ['support-claude-3-5-haiku-latest', 'anthropic:claude-3-5-haiku-latest'],
      ['support-gpt4o', 'openai:gpt-4o'],
    ]);
    const gpt = await readFile(join(cwd, 'evals/support-gpt4o.eval.yaml'), 'utf8');
    expect(gpt).toContain('apiKeyEnv: MY_OPENAI_KEY');
    expect(gpt).toContain('max_tokens: 200');
    const rows = (await readFile(join(cwd, 'evals/support-gpt4o.cases.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(rows[0] ?? '{}')).toMatchObject({ assert: [{ type: 'icontains', value: 'ten' }] });
    expect(imported.warnings.join('\n')).toMatch(/tests: metadata is not imported \(cases\.jsonl#2\)/);
    // `answer` is read by an assertion only: written into it, so nothing about it is dropped.
    expect(imported.warnings.join('\n')).not.toMatch(/answer/);
    expect(evaluated.suites).toHaveLength(4);
  });

  it('Nunjucks logic, array vars expanded, inline chat, and what cannot convert skipped with the reason', async () => {
    const cwd = await project({
      'promptfooconfig.yaml': [
        'prompts:',
        '  - label: Support reply',
        '    raw: |-',
        '      {% if premium %}Priority: {% else %}Standard: {% endif %}{{ issue }}',
        '      {% for item in items %}- {{ item.name }}',
        '      {% endfor %}{# internal note #}Reply in {{ language }}.',
        '  - "Sum: {{ a + b }}"',
        '  - file://prompts/generate.py',
        '  - \'[{"role": "user", "content": "Say hi to {{name}}"}]\'',
        'defaultTest:',
        '  vars: { language: English, name: Ada }',
        'tests:',
        '  - vars:',
        '      premium: true',
        '      issue: [Login fails, Card declined]',
        '      items: [{ name: laptop }, { name: charger }]',
        '    assert:',
        '      - type: contains',
        '        value: Priority',
        '      - type: assert-set',
        '        assert: [{ type: contains, value: a }]',
        '  - vars: { premium: false, issue: Slow, items: [] }',
        '    options: { disableVarExpansion: true }',
      ].join('\n'),
    });
    const { imported, evaluated } = await convertCheckEval(cwd);
    expect(imported.prompts.map((p) => p.name)).toEqual(['support-reply', 'prompt-4']);
    const prompt = await readFile(join(cwd, 'prompts/support-reply.prompt.yaml'), 'utf8');
    expect(prompt).toContain('{{#premium}}Priority: {{/premium}}{{^premium}}Standard: {{/premium}}{{issue}}');
    expect(prompt).toContain('{{#items}}- {{name}}');
    expect(prompt).not.toContain('internal note');
    expect(imported.skipped.map((s) => s.origin)).toEqual(['prompts[1]', 'prompts[2] (prompts/generate.py)']);
    expect(imported.skipped[0]?.reason).toMatch(/\{\{ a \+ b \}\}.*not an expression/);
    // Lists expand into one case per combination (2 issues x 2 items), as in promptfoo; not with
    // disableVarExpansion, where the list is the value.
    const support = evaluated.suites.find((s) => s.run.suite.name === 'support-reply');
    expect(support?.run.cases.map((c) => c.id)).toEqual(['case-1.1', 'case-1.2', 'case-1.3', 'case-1.4', 'case-2']);
    expect(imported.warnings.join('\n')).toMatch(/assert-set" has no promptops counterpart/);
    const chat = await readFile(join(cwd, 'prompts/prompt-4.prompt.yaml'), 'utf8');
    expect(chat).toContain('type: chat');
  });

  it('a missing file, a glob matching nothing and broken YAML fail naming the file and the field', async () => {
    const missingPrompt = await project({
      'promptfooconfig.yaml': 'prompts: ["Hi {{name}}", file://prompts/missing.txt]\ntests: file://tests.csv\n',
    });
    const prompt = await run(['import', 'promptfoo', 'promptfooconfig.yaml'], { cwd: missingPrompt });
    expect(prompt.code).not.toBe(0);
    expect(prompt.stderr).toMatch(/promptfooconfig\.yaml: prompts\[1\]: cannot read prompts\/missing\.txt/);

    const missingTests = await project({
      'promptfooconfig.yaml': 'prompts: ["Hi {{name}}"]\ntests: file://tests.csv\n',
    });
    const tests = await run(['import', 'promptfoo', 'promptfooconfig.yaml', '--json'], { cwd: missingTests });
    expect(tests.code).not.toBe(0);
    expect(tests.stdout).toMatch(/tests: cannot read tests\.csv/);

    const glob = await project({ 'promptfooconfig.yaml': 'prompts: [file://prompts/*.txt]\n' });
    const globbed = await run(['import', 'promptfoo', 'promptfooconfig.yaml'], { cwd: glob });
    expect(globbed.stderr).toMatch(/prompts\[0\]: file:\/\/prompts\/\*\.txt matches no file/);

    const broken = await project({ 'promptfooconfig.yaml': 'prompts: [unclosed\n' });
    const yaml = await run(['import', 'promptfoo', 'promptfooconfig.yaml'], { cwd: broken });
    expect(yaml.stderr).toMatch(/promptfooconfig\.yaml: not valid YAML/);
    expect(await readdir(broken)).toEqual(['promptfooconfig.yaml']);
  });
});
