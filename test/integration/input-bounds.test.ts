import { randomUUID } from 'node:crypto';
import { http, startPlatform, uniqueQueue, type TestPlatform } from '../support/platform';
import { runsStartedSince } from '../support/visibility';

// Input a client can send that once reached code unprepared for it: a deeply nested body (a stack
// overflow in the request hash), a time offset the store refuses, a made-up page token (reported as a
// Temporal outage after 5 s). Each is a 400 naming what was wrong, and changes nothing.

jest.setTimeout(120_000);

let platform: TestPlatform;
let auditor: Record<string, string>;
beforeAll(async () => {
  platform = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('bounds') });
  auditor = platform.as({ subject: 'aud', tenant: `bounds-${randomUUID().slice(0, 8)}`, roles: ['auditor'] });
});
afterAll(async () => {
  await platform.stop();
});

/** `{"a":{"a":…1…}}`, `depth` objects deep (inside the body's own object, one level more). */
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

test('a body nested deeper than the limit is a 400 naming the limit, and starts nothing', async () => {
  const since = new Date();
  for (const depth of [65, 5_000]) {
    const body = `{"agent":"docs-researcher","task":"deep","context":${nested(depth - 1)}}`;
    const res = await http(platform, 'POST', '/v1/runs', body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:agent-control-plane:problem:json-too-deep', max_depth: 64 });
    expect(res.body.detail).toMatch(/64/);
  }
  // At the limit the body is fine.
  const ok = await http(platform, 'POST', '/v1/runs', `{"agent":"docs-researcher","task":"deep","context":${nested(63)}}`);
  expect(ok.status).toBe(202);
  expect(await runsStartedSince(platform, since, { started: [ok.body.run_id as string] })).toEqual([ok.body.run_id]);
});

test('time parameters: any offset is read as the instant it names, and one the store cannot hold is a 400', async () => {
  for (const since of ['2020-01-01T00:00:00-16:00', '2020-01-01T00:00:00+23:59', '2020-01-01T00:00:00Z']) {
    const res = await http(platform, 'GET', `/v1/audit?since=${encodeURIComponent(since)}`, undefined, auditor);
    expect({ since, status: res.status }).toEqual({ since, status: 200 });
  }
  for (const q of ['started_after=2020-01-01T00:00:00-16:00', 'started_before=2020-01-01T00:00:00%2B23:59']) {
    const res = await http(platform, 'GET', `/v1/runs?${q}`);
    expect({ q, status: res.status }).toEqual({ q, status: 200 });
  }
  // Year 0000 east of UTC is an instant before year 1: neither the ledger nor Temporal holds it.
  for (const [path, name] of [
    ['/v1/audit?until=0000-01-01T00:00:00%2B01:00', 'until'],
    ['/v1/runs?started_after=0000-01-01T00:00:00%2B01:00', 'started_after'],
  ] as const) {
    const res = await http(platform, 'GET', path, undefined, path.startsWith('/v1/audit') ? auditor : {});
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: name })]);
  }
});

test('a page_token this API did not hand out is a 400 at once, not a Temporal outage', async () => {
  for (const token of ['AAAA', 'bm90LWEtdG9rZW4', 'x'.repeat(300)]) {
    const res = await http(platform, 'GET', `/v1/runs?page_token=${token}`);
    expect({ token, status: res.status, type: res.body.type }).toEqual({
      token,
      status: 400,
      type: 'urn:agent-control-plane:problem:invalid-page-token',
    });
  }
});

test('a page_token handed out by a previous page still reads the next page', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: `page ${i}` });
    expect(res.status).toBe(202);
    ids.push(res.body.run_id as string);
  }
  await runsStartedSince(platform, new Date(0), { started: ids });
  const first = await http(platform, 'GET', '/v1/runs?page_size=2');
  expect(first.status).toBe(200);
  expect(typeof first.body.next_page_token).toBe('string');
  const second = await http(platform, 'GET', `/v1/runs?page_size=2&page_token=${first.body.next_page_token as string}`);
  expect(second.status).toBe(200);
  expect((second.body.runs as unknown[]).length).toBeGreaterThan(0);
});
