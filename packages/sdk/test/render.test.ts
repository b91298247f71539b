import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createClient } from '../src/index.js';
import { greeter, textPrompt } from './support/fixtures.js';

/** Rendering and the OpenAI request shape, from in-code prompts (no server needed). */

const client = createClient({
  url: 'http://127.0.0.1:9',
  apiKey: 'unused',
  fallback: {
    prompts: {
      customer_support_greeter: greeter(17),
      faq: textPrompt('faq', 'Answer briefly: {{question}}'),
      bare: { ...textPrompt('bare', 'Hi {{question}}'), config: { params: {} } },
    },
  },
});

describe('render and toOpenAI', () => {
  it('renders chat prompts message by message', () => {
    const rendered = client
      .get('customer_support_greeter')
      .render({ user_name: 'Ada', question: 'Where is my order?' });
    expect(rendered.type).toBe('chat');
    if (rendered.type !== 'chat') return;
    expect(rendered.messages).toHaveLength(2);
    expect(rendered.messages[1]).toEqual({ role: 'user', content: 'Ada asks: Where is my order?' });
  });

  it('throws clear errors for missing and undeclared variables', () => {
    const prompt = client.get('customer_support_greeter');
    expect(() => prompt.render({ user_name: 'Ada' })).toThrow(
      expect.objectContaining({
        code: 'invalid_variables',
        message: expect.stringContaining('variable {{question}} is required but was not provided'),
      }),
    );
    expect(() => prompt.render({ user_name: 'Ada', question: 'q', usr_name: 'typo' })).toThrow(
      expect.objectContaining({
        message: expect.stringContaining(
          'variable "usr_name" is not declared by the prompt (declared: user_name, question)',
        ),
      }),
    );
    expect(() => prompt.toOpenAI({ user_name: 42, question: 'q' })).toThrow(/must be of type string, got number/);
  });

  it('shapes a chat prompt as { model, messages, ...params }', () => {
    const body = client.get('customer_support_greeter').toOpenAI({ user_name: 'Ada', question: 'Where is my order?' });
    expect(Object.keys(body)).toEqual(['model', 'messages', 'temperature']);
    expect(body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2 });
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(body.messages[0]?.content).toContain('Always greet the user by name.');
  });

  it('makes a text prompt one user message', () => {
    expect(client.get('faq').toOpenAI({ question: 'Do you ship to Iceland?' })).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Answer briefly: Do you ship to Iceland?' }],
      max_tokens: 200,
    });
  });

  it('needs a model: from the prompt or passed in', () => {
    expect(() => client.get('bare').toOpenAI({ question: 'x' })).toThrow(
      expect.objectContaining({ code: 'missing_model' }),
    );
    expect(client.get('bare').toOpenAI({ question: 'x' }, { model: 'local-llama' })).toMatchObject({
      model: 'local-llama',
    });
  });

  it('is accepted as is by the official openai client', async () => {
    const received: unknown[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ url: request.url, body: JSON.parse(body) as unknown });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 0,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hi Ada!' } }],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
      const prompt = client.get('customer_support_greeter');
      const completion = await openai.chat.completions.create(
        prompt.toOpenAI({ user_name: 'Ada', question: 'Where is my order?' }),
      );
      expect(completion.choices[0]?.message.content).toBe('Hi Ada!');
      expect(received).toEqual([
        { url: '/v1/chat/completions', body: prompt.toOpenAI({ user_name: 'Ada', question: 'Where is my order?' }) },
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
