import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Reply } from '../support/http.js';
import { DIALECTS, openTestRegistry, textContent, type TestRegistry } from '../support/registry.js';

/**
 * Hostile input answered 500 (and logged nothing useful). JSON nested thousands deep, lone UTF-16
 * surrogates in hashed text or a reason, and numbers that are not finite (`limit=1e309`) are 400s naming
 * the field and the fix.
 */

type Issue = { path: string; message: string };
type ErrorBody = { error: { code: string; message: string; fix?: string; issues?: Issue[] } };

/** JSON text of `{"k":[{"k":[ ... 1 ... ]}]}` nesting `depth` levels: too deep for JSON.stringify to write. */
const nestedJson = (depth: number): string => '{"k":['.repeat(depth / 2) + '1' + ']}'.repeat(depth / 2);

/** A 400 with an issue whose path holds `path` and whose message matches `message`. */
const expectRefused = (reply: Reply<ErrorBody>, path: string, message: RegExp): Issue => {
  expect(reply.status, reply.text.slice(0, 500)).toBe(400);
  const issue = reply.body.error.issues?.find((candidate) => candidate.path.includes(path));
  expect(issue, `an issue at ${path} in ${reply.text.slice(0, 500)}`).toBeDefined();
  expect(issue!.message).toMatch(message);
  expect(reply.body.error.fix).toBeTruthy();
  return issue!;
};

const LONE = /lone UTF-16 surrogate/;

describe.each(DIALECTS)('malformed input on %s', (dialect) => {
  let registry: TestRegistry;
  let sha = '';
  const admin = () => registry.keys.admin;
  const request = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    call<ErrorBody>(registry.app, method, url, admin(), payload);
  const push = (name: string, content: unknown, extra: Record<string, unknown> = {}) =>
    request('POST', `/api/v1/prompts/${name}/versions`, { content, parent: null, ...extra });
  /** POSTs JSON text as is. */
  const postText = async (url: string, text: string): Promise<Reply<ErrorBody>> => {
    const response = await registry.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${admin()}`, 'content-type': 'application/json' },
      payload: text,
    });
    return { status: response.statusCode, body: response.json(), headers: response.headers, text: response.body };
  };
  /** `content` as JSON with `"@DEEP@"` replaced by `deep`. */
  const withDeep = (body: unknown, deep: string): string => JSON.stringify(body).replace('"@DEEP@"', deep);

  beforeAll(async () => {
    registry = await openTestRegistry(dialect);
    const first = await push('greeter', textContent('greeter', 'Hello'));
    expect(first.status).toBe(201);
    sha = (first.body as unknown as { sha: string }).sha;
  });
  afterAll(async () => {
    await registry.close();
  });

  it('refuses prompt content nested thousands deep, naming where, and stores nothing', async () => {
    const deepDefault = textContent('deep', '{{x}}', { x: { type: 'any', required: false, default: '@DEEP@' } });
    const body = withDeep({ content: deepDefault, parent: null }, nestedJson(2000));
    expectRefused(await postText('/api/v1/prompts/deep/versions', body), 'variables.x.default.k[0].k[0]', /nests more/);
    const deepParams = { ...textContent('deeper', 'hi'), config: { params: { p: '@DEEP@' } } };
    const deeper = withDeep({ content: deepParams, parent: null }, nestedJson(200_000));
    expectRefused(await postText('/api/v1/prompts/deeper/versions', deeper), 'params.p.k[0].k[0]', /nests more/);
    expect((await request('GET', '/api/v1/prompts/deep')).status).toBe(404);
  });

  it('refuses any other body nested thousands deep (an eval suite), not a 500', async () => {
    const suite = { content: { name: 'suite', prompt: 'greeter', cases: [{ vars: { v: '@DEEP@' }, assert: [] }] } };
    const reply = await postText('/api/v1/evals/suites', withDeep(suite, nestedJson(20_000)));
    expectRefused(reply, 'vars.v.k[0].k[0]', /nests more than/);
  });

  it('refuses a lone surrogate in hashed content, naming the field', async () => {
    expectRefused(await push('lone', textContent('lone', 'Hi \ud800 there')), 'content.template', LONE);
    const chat = { ...textContent('lone', ''), type: 'chat', messages: [{ role: 'user', content: 'x\udfff' }] };
    delete (chat as { template?: string }).template;
    expectRefused(await push('lone', chat), 'messages[0].content', LONE);
    const key = { ...textContent('lone', 'hi'), config: { params: { ['t\udc00']: 1 } } };
    expectRefused(await push('lone', key), 'params.t\udc00', /key contains a lone UTF-16 surrogate/);
  });

  it('refuses a lone surrogate in a commit message, a reason, a change request and a comment', async () => {
    expectRefused(await push('lone', textContent('lone', 'hi'), { message: 'fix \ud83d' }), 'body.message', LONE);
    const promote = await request('PUT', '/api/v1/prompts/greeter/labels/staging', { ref: sha, reason: 'why \udead' });
    expectRefused(promote, 'body.reason', LONE);
    const rollback = await request('POST', '/api/v1/prompts/greeter/labels/staging/rollback', { reason: '\ud800' });
    expect(rollback.status).toBe(400);
    const review = await request('POST', '/api/v1/reviews', {
      name: 'greeter',
      ref: sha,
      label: 'production',
      message: 'ship \udc01',
    });
    expectRefused(review, 'body.message', LONE);
    // Nothing was audited: the chain never saw the refused text.
    const audit = await call<{ entries: unknown[] }>(registry.app, 'GET', '/api/v1/audit?limit=1000', admin());
    expect(JSON.stringify(audit.body)).not.toMatch(/\\ud[89a-f]/i);
  });

  it('accepts surrogate pairs everywhere', async () => {
    const ok = await push('emoji', textContent('emoji', 'Hi 😀'), { message: 'add 🎉' });
    expect(ok.status).toBe(201);
    const promote = await request('PUT', '/api/v1/prompts/greeter/labels/staging', { ref: sha, reason: 'ship 🚀' });
    expect(promote.status).toBe(200);
  });

  it('refuses numbers that are not finite in a query (limit=1e309), on every list route', async () => {
    for (const url of [
      '/api/v1/prompts/greeter/versions?limit=1e309',
      '/api/v1/prompts/greeter/versions?before=1e309',
      '/api/v1/audit?limit=1e309',
      '/api/v1/audit?after=1e309',
      '/api/v1/reviews?limit=1e309',
      '/api/v1/evals/runs?limit=1e309',
      '/api/v1/traces?limit=1e309',
      '/api/v1/changes?after=1e309&wait=0',
      '/api/v1/changes?wait=1e309',
    ]) {
      const reply = await request('GET', url);
      const field = /[?&](\w+)=1e309/.exec(url)![1]!;
      expectRefused(reply, `querystring.${field}`, /not a finite number/);
    }
    expect((await request('GET', '/api/v1/prompts/greeter/versions?limit=500')).status).toBe(200);
  });
});
