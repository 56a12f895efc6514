import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { eventually, http, startPlatform, uniqueQueue, type TestPlatform } from '../support/platform';

// A hostile client, generated: random bodies, headers and paths. The gateway must never answer 5xx,
// and must start a run only for a request it accepted (202): the tenant's runs in Temporal equal the
// accepted requests. No worker runs, so nothing executes.
let platform: TestPlatform;
let who: Record<string, string>;
const tenant = `fuzz-${randomUUID().slice(0, 8)}`;
let accepted = 0;
beforeAll(async () => {
  platform = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('fuzz') });
  who = platform.as({ subject: 'fuzzer', tenant, roles: ['dispatcher'] });
});
afterAll(async () => {
  await platform.stop();
});

const deepJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 }),
})).value;

const dispatchBody = fc.oneof(
  deepJson,
  fc.record(
    {
      agent: fc.oneof(
        fc.constant('docs-researcher'),
        fc.constant('docs-researcher@1.0.0'),
        fc.string(),
        fc.integer(),
        fc.constant('../../etc'),
      ),
      task: fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.constant(''), fc.constant('  ')),
      context: fc.oneof(fc.dictionary(fc.string(), deepJson, { maxKeys: 3 }), fc.string(), fc.constant(null)),
      constraints: fc.oneof(fc.record({ max_steps: fc.oneof(fc.integer(), fc.string()) }, { requiredKeys: [] }), deepJson),
      tenant: fc.string(),
      initiator: fc.string(),
    },
    { requiredKeys: [] },
  ),
);

const sent = async (res: { status: number; body: Record<string, unknown> }) => {
  expect(res.status).toBeLessThan(500);
  if (res.status === 202) accepted += 1;
  else if (res.status >= 400) expect(typeof res.body.type).toBe('string');
};

test('random dispatch bodies and content types: never 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      dispatchBody,
      fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''),
      async (body, type) => {
        const headers: Record<string, string> = { ...who };
        if (type) headers['content-type'] = type;
        await sent(await http(platform, 'POST', '/v1/runs', JSON.stringify(body), headers));
      },
    ),
    { numRuns: 150 },
  );
});

test('raw bytes, deep nesting and oversized bodies: never 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (raw) => {
      await sent(await http(platform, 'POST', '/v1/runs', raw, { ...who, 'content-type': 'application/json' }));
    }),
    { numRuns: 100 },
  );
  await sent(
    await http(platform, 'POST', '/v1/runs', '['.repeat(10_000) + ']'.repeat(10_000), { ...who, 'content-type': 'application/json' }),
  );
  await sent(await http(platform, 'POST', '/v1/runs', JSON.stringify({ agent: 'docs-researcher', task: 'x'.repeat(600_000) }), who));
});

test('random run ids, approval ids and query strings in paths: never 5xx', async () => {
  const segment = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom('..', '../..', '%2e%2e%2f', 'run-\u0000', '\u202e', 'run-😀'),
  );
  await fc.assert(
    fc.asyncProperty(segment, segment, fc.string({ maxLength: 40 }), async (id, approval, query) => {
      const enc = encodeURIComponent;
      for (const [method, p, b] of [
        ['GET', `/v1/runs/${enc(id)}`, undefined],
        ['GET', `/v1/runs/${enc(id)}/steps`, undefined],
        ['POST', `/v1/runs/${enc(id)}/cancel`, undefined],
        ['POST', `/v1/runs/${enc(id)}/approvals/${enc(approval)}`, { decision: 'approve', args_hash: 'a'.repeat(64) }],
        ['GET', `/v1/runs?${query}`, undefined],
      ] as const) {
        const res = await http(platform, method, p, b, who);
        expect(res.status).toBeLessThan(500);
      }
    }),
    { numRuns: 60 },
  );
});

test('random header values (ids, keys, credentials): never 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), async (requestId, idem) => {
      const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '');
      const res = await http(
        platform,
        'POST',
        '/v1/runs',
        { agent: 'docs-researcher', task: 'fuzz header' },
        { ...who, 'x-request-id': clean(requestId), 'idempotency-key': clean(idem) || 'k' },
      );
      await sent(res);
      const anon = await http(platform, 'GET', '/v1/agents', undefined, { authorization: `Bearer ${clean(requestId)}` });
      expect(anon.status).toBeLessThan(500);
    }),
    { numRuns: 60 },
  );
});

test('only accepted requests started runs, and the body never chose the tenant', async () => {
  const count = async () =>
    Number(
      (await platform.client.workflowService.countWorkflowExecutions({ namespace: 'default', query: `Tenant = "${tenant}"` })).count ?? 0,
    );
  // A sentinel: once visibility shows it, it shows everything started before it.
  const sentinel = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'sentinel' }, who);
  expect(sentinel.status).toBe(202);
  accepted += 1;
  const runs = await eventually(async () => {
    const res = await http(platform, 'GET', '/v1/runs?page_size=1&agent=docs-researcher', undefined, who);
    const newest = (res.body.runs as { run_id: string }[])[0];
    return newest?.run_id === sentinel.body.run_id ? count() : undefined;
  });
  expect(runs).toBe(accepted);
});
