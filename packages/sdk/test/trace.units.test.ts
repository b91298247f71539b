import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClient } from '../src/index.js';
import { utf8Length } from '../src/trace/event.js';
import { promptLinkOf } from '../src/trace/prompt-link.js';
import { retryAfterMs } from '../src/trace/retry.js';
import { waitFor } from '../../server/test/support/wait.js';
import { greeter } from './support/fixtures.js';

/** The small pure parts of tracing: byte counting, Retry-After, the hidden prompt link; closed clients. */

describe('tracing internals', () => {
  it('counts UTF-8 bytes exactly (batches are capped in bytes)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
        const json = JSON.stringify(text); // what is measured: lone surrogates arrive escaped
        expect(utf8Length(json)).toBe(Buffer.byteLength(json));
      }),
    );
  });

  it('reads Retry-After in seconds or as an HTTP date, capped', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('0.5', now)).toBe(500);
    expect(retryAfterMs('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000);
    expect(retryAfterMs('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(300_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('links toOpenAI() params to the prompt without anything serializable', () => {
    const client = createClient({
      url: 'http://127.0.0.1:9',
      apiKey: 'k',
      fallback: { prompts: { customer_support_greeter: greeter(17) } },
    });
    const prompt = client.get('customer_support_greeter');
    const vars = { user_name: 'Ada', question: 'q' };
    const params = prompt.toOpenAI(vars);
    expect(Object.keys(params)).toEqual(['model', 'messages', 'temperature']);
    expect(
      Object.getOwnPropertySymbols(params).every((s) => !Object.getOwnPropertyDescriptor(params, s)!.enumerable),
    ).toBe(true);
    expect(JSON.parse(JSON.stringify(params))).toEqual({ ...params });
    expect(promptLinkOf(params)).toEqual({ prompt, variables: vars });
    expect(promptLinkOf({ ...params, stream: true })?.prompt).toBe(prompt); // through the messages array
    expect(promptLinkOf({ ...params, messages: [...params.messages] })).toBeUndefined();
    expect(promptLinkOf({ model: 'x', messages: [] })).toBeUndefined();
  });

  it('trace() after close() is dropped and counted, never thrown', async () => {
    const errors: string[] = [];
    const client = createClient({ url: 'http://127.0.0.1:9', apiKey: 'k', onError: (e) => errors.push(e.code) });
    await client.close();
    expect(typeof client.trace({ prompt: { name: 'x' }, output: 'late' })).toBe('string');
    await waitFor(() => client.traceStats().dropped === 1, 'the late event to be counted as dropped');
    expect(client.traceStats()).toMatchObject({ queued: 0, dropped: 1 });
    expect(await client.flush()).toBe(true);
  });
});
