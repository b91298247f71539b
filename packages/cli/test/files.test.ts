import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { discoverPromptFiles, loadPromptFiles, pathNameForFile } from '../src/files.js';
import { tempDir } from './helpers.js';

const TEXT = 'template: "Hello {{who}}"\nvariables: { who: string }\n';

const write = async (root: string, path: string, text = TEXT): Promise<void> => {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), text);
};

describe('discoverPromptFiles', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir();
    await write(cwd, 'prompts/greeter.prompt.yaml');
    await write(cwd, 'prompts/support/faq.prompt.yml');
    await write(cwd, 'prompts/support/notes.yaml');
    await write(cwd, 'prompts/node_modules/x.prompt.yaml');
    await write(cwd, 'prompts/.hidden/y.prompt.yaml');
    await write(cwd, 'other/standalone.prompt.yaml');
  });

  it('finds **/*.prompt.yaml|yml under prompts/ by default, named by relative path', async () => {
    const files = await discoverPromptFiles([], cwd);
    expect(files.map((f) => [f.file, f.pathName])).toEqual([
      ['prompts/greeter.prompt.yaml', 'greeter'],
      ['prompts/support/faq.prompt.yml', 'support/faq'],
    ]);
  });

  it('names relative to the folder given', async () => {
    const files = await discoverPromptFiles(['prompts/support'], cwd);
    expect(files.map((f) => f.pathName)).toEqual(['faq']);
  });

  it('names a file given directly relative to its prompts/ folder, else by file name', async () => {
    const files = await discoverPromptFiles(['prompts/support/faq.prompt.yml', 'other/standalone.prompt.yaml'], cwd);
    expect(files.map((f) => f.pathName)).toEqual(['standalone', 'support/faq']);
    expect(pathNameForFile('/repo/prompts/a/b.prompt.yaml')).toBe('a/b');
  });

  it('lists each file once when paths overlap', async () => {
    const files = await discoverPromptFiles(['prompts', 'prompts/greeter.prompt.yaml'], cwd);
    expect(files).toHaveLength(2);
  });

  it('explains a missing path, an empty folder and a non-prompt file', async () => {
    const empty = await tempDir();
    await expect(discoverPromptFiles([], empty)).rejects.toMatchObject({
      code: 'file_not_found',
      fix: expect.stringContaining('prompts/'),
    });
    await mkdir(join(cwd, 'empty'));
    await expect(discoverPromptFiles(['empty'], cwd)).rejects.toMatchObject({ code: 'no_prompt_files' });
    await expect(discoverPromptFiles(['prompts/support/notes.yaml'], cwd)).rejects.toMatchObject({
      code: 'not_a_prompt_file',
      fix: expect.stringContaining('notes.prompt.yaml'),
    });
  });
});

describe('loadPromptFiles', () => {
  it('parses every file with its path-derived name', async () => {
    const cwd = await tempDir();
    await write(cwd, 'prompts/support/faq.prompt.yaml');
    const loaded = await loadPromptFiles(await discoverPromptFiles([], cwd));
    expect(loaded[0]?.content).toMatchObject({ name: 'support/faq', type: 'text', template: 'Hello {{who}}' });
  });

  it('refuses the whole set when any file is invalid, naming every file and field', async () => {
    const cwd = await tempDir();
    await write(cwd, 'prompts/good.prompt.yaml');
    await write(cwd, 'prompts/bad1.prompt.yaml', 'template: "Hi {{who}}"\n');
    await write(cwd, 'prompts/bad2.prompt.yaml', 'template: x\ncolour: red\n');
    const error = await loadPromptFiles(await discoverPromptFiles([], cwd)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_prompt_files' });
    const { message, issues } = error as { message: string; issues: { file: string; path: string }[] };
    expect(message).toContain('prompts/bad1.prompt.yaml');
    expect(message).toContain('{{who}}');
    expect(message).toContain('prompts/bad2.prompt.yaml');
    expect(message).toContain('colour');
    expect(message).toContain('nothing was pushed');
    expect(issues.map((i) => i.file)).toEqual(['prompts/bad1.prompt.yaml', 'prompts/bad2.prompt.yaml']);
  });

  it('refuses two files that define the same prompt', async () => {
    const cwd = await tempDir();
    await write(cwd, 'prompts/a.prompt.yaml', `name: same\n${TEXT}`);
    await write(cwd, 'prompts/b.prompt.yaml', `name: same\n${TEXT}`);
    await expect(loadPromptFiles(await discoverPromptFiles([], cwd))).rejects.toMatchObject({
      code: 'duplicate_prompt',
      message: expect.stringContaining('also defined by prompts/a.prompt.yaml'),
    });
  });
});
