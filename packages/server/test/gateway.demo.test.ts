import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startServer } from '../src/app/start-server.js';
import { ADMIN_KEY } from './support/registry.js';

/**
 * `serve --demo` with no gateway config answers the demo's prompts through the gateway offline: their
 * providers (openai) are answered by the simulated one, and the start-up message says so. With a config,
 * an unlisted provider is an error naming it (gateway.test.ts).
 */
describe('the gateway in the demo', () => {
  it('answers the demo greeter offline, simulated', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'promptops-gateway-demo-'));
    const lines: string[] = [];
    const server = await startServer({
      port: 0,
      log: false,
      demo: true,
      dataDir,
      webRoot: false,
      initAdminKey: ADMIN_KEY,
      print: (line) => lines.push(line),
    });
    try {
      expect(lines).toContain(
        `gateway: POST ${server.url}/v1/chat/completions (providers: simulated; any other answered by simulated)`,
      );
      const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
      const { data, response } = await client.chat.completions
        .create({
          model: 'prompt:customer_support_greeter',
          messages: [],
          ...({ promptops: { variables: { user_name: 'Ada', question: 'Where is my order?' } } } as Record<
            string,
            unknown
          >),
        })
        .withResponse();
      expect(data.model).toBe('simulated-1');
      expect(data.choices[0]?.message.content).toContain('Where is my order?');
      expect(response.headers.get('x-promptops-arm')).toBe('base');
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
