import { defaultPayloadConverter } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { http, startPlatform, uniqueQueue, type TestPlatform } from '../support/platform';
import { workflowsAfterSentinel } from '../support/visibility';

// Hundreds of requests per test, on a machine that may be busy.
jest.setTimeout(180_000);

// A hostile client, generated: random bodies, headers and paths. The gateway must never answer 5xx,
// and must start a run only for a request it accepted (202): each test fuzzes as a tenant of its own,
// and that tenant's runs in Temporal are exactly the accepted requests. No worker runs, so nothing executes.
let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('fuzz') });
});
afterAll(async () => {
  await platform.stop();
});

/** A fuzzing tenant: its credentials, and the runs the gateway accepted from it. */
function fuzzer() {
  const tenant = `fuzz-${randomUUID().slice(0, 8)}`;
  const who = platform.as({ subject: 'fuzzer', tenant, roles: ['dispatcher'] });
  const accepted: string[] = [];
  const sent = (res: { status: number; body: Record<string, unknown> }) => {
    expect(res.status).toBeLessThan(500);
    if (res.status === 202) accepted.push(res.body.run_id as string);
    else if (res.status >= 400) expect(typeof res.body.type).toBe('string');
  };
  /** The tenant's runs in Temporal (read after a sentinel of the same tenant, which is left out). */
  const runsInTemporal = async () =>
    (await workflowsAfterSentinel(platform, `Tenant = "${tenant}"`, { headers: who, started: accepted })).sort();
  return { tenant, who, accepted, sent, runsInTemporal };
}

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
  // Shapes the gateway accepts, so the property also covers what a 202 starts.
  fc.record({
    agent: fc.constantFrom('docs-researcher', 'docs-researcher@1.0.0'),
    task: fc.string({ minLength: 1 }).filter((t) => t.trim().length > 0),
    context: fc.dictionary(fc.string({ maxLength: 12 }), deepJson, { maxKeys: 3 }),
  }),
);

test('random dispatch bodies and content types (none at all among them): never 5xx, and only 202s start runs', async () => {
  const f = fuzzer();
  const types = new Set<string>();
  await fc.assert(
    fc.asyncProperty(
      dispatchBody,
      fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''),
      async (body, type) => {
        types.add(type);
        // '' sends the body with no Content-Type header at all.
        const res = await http(platform, 'POST', '/v1/runs', JSON.stringify(body), { ...f.who, 'content-type': type });
        f.sent(res);
        // What reached the gateway had no content type: it is refused as such, whatever the body.
        if (type === '') expect(res.status).toBe(415);
      },
    ),
    { numRuns: 150 },
  );
  expect(types).toContain('');
  expect(f.accepted.length).toBeGreaterThan(0);
  expect(await f.runsInTemporal()).toEqual([...f.accepted].sort());
});

test('raw bytes, deep nesting and oversized bodies: never 5xx, and nothing starts', async () => {
  const f = fuzzer();
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (raw) => {
      f.sent(await http(platform, 'POST', '/v1/runs', raw, { ...f.who, 'content-type': 'application/json' }));
    }),
    { numRuns: 100 },
  );
  f.sent(
    await http(platform, 'POST', '/v1/runs', '['.repeat(10_000) + ']'.repeat(10_000), { ...f.who, 'content-type': 'application/json' }),
  );
  f.sent(await http(platform, 'POST', '/v1/runs', JSON.stringify({ agent: 'docs-researcher', task: 'x'.repeat(600_000) }), f.who));
  expect(await f.runsInTemporal()).toEqual([...f.accepted].sort());
});

test('random run ids, approval ids and query strings in paths: never 5xx', async () => {
  const f = fuzzer();
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
        const res = await http(platform, method, p, b, f.who);
        expect(res.status).toBeLessThan(500);
      }
    }),
    { numRuns: 60 },
  );
});

test('random header values (ids, keys, credentials): never 5xx, and only 202s start runs', async () => {
  const f = fuzzer();
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), async (requestId, idem) => {
      const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '');
      const res = await http(
        platform,
        'POST',
        '/v1/runs',
        { agent: 'docs-researcher', task: 'fuzz header' },
        { ...f.who, 'x-request-id': clean(requestId), 'idempotency-key': clean(idem) || 'k' },
      );
      f.sent(res);
      const anon = await http(platform, 'GET', '/v1/agents', undefined, { authorization: `Bearer ${clean(requestId)}` });
      expect(anon.status).toBeLessThan(500);
    }),
    { numRuns: 60 },
  );
  expect(f.accepted.length).toBeGreaterThan(0);
  // One idempotency key answers with the same run again (200), so compare the distinct runs.
  expect(await f.runsInTemporal()).toEqual([...new Set(f.accepted)].sort());
});

test('the body never chooses the tenant: a tenant inside the context is just data', async () => {
  const f = fuzzer();
  const other = fuzzer();
  expect((await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'x', tenant: other.tenant }, f.who)).status).toBe(400);
  const res = await http(
    platform,
    'POST',
    '/v1/runs',
    { agent: 'docs-researcher', task: 'whose run?', context: { tenant: other.tenant, initiator: 'mallory' } },
    f.who,
  );
  f.sent(res);
  expect(res.status).toBe(202);
  expect(await f.runsInTemporal()).toEqual(f.accepted);
  expect(await other.runsInTemporal()).toEqual([]);
  expect((await http(platform, 'GET', `/v1/runs/${f.accepted[0]!}`, undefined, other.who)).status).toBe(404);
  expect((await http(platform, 'GET', `/v1/runs/${f.accepted[0]!}`, undefined, f.who)).body.initiator).toBe('fuzzer');
  // The run itself (its budgets, audit rows and policy) works for the caller's tenant, not the context's.
  const history = await platform.client.workflow.getHandle(f.accepted[0]!).fetchHistory();
  const started = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const input = defaultPayloadConverter.fromPayload<{ initiator: { tenant: string } }>(started);
  expect(input.initiator.tenant).toBe(f.tenant);
});
