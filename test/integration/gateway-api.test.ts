import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { eventually, http, startPlatform, uniqueQueue, waitForRun, type TestPlatform } from '../support/platform';
import { runsStartedSince, workflowsAfterSentinel } from '../support/visibility';

// Listing, steps, readiness, idempotent dispatch and tenant isolation over real HTTP. Each test uses
// its own tenant (dev principal header), so listings only ever see that test's runs.
let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.stop();
});

const tenant = (roles = ['dispatcher']) => platform.as({ subject: 'svc', tenant: `t-${randomUUID().slice(0, 8)}`, roles });
const body = (task: string) => ({ agent: 'docs-researcher', task });

describe('idempotent dispatch', () => {
  test('same key and body → the original run (200); same key, other body → 409; other tenant → its own run', async () => {
    const who = { ...tenant(), 'idempotency-key': `order-${randomUUID()}` };
    const first = await http(platform, 'POST', '/v1/runs', body('idempotent'), who);
    expect(first.status).toBe(202);
    const again = await http(platform, 'POST', '/v1/runs', body('idempotent'), who);
    expect(again.status).toBe(200);
    expect(again.body.run_id).toBe(first.body.run_id);
    await waitForRun(platform, first.body.run_id as string, 30_000, who);
    const afterDone = await http(platform, 'POST', '/v1/runs', body('idempotent'), who);
    expect([afterDone.status, afterDone.body.run_id]).toEqual([200, first.body.run_id]);
    const conflict = await http(platform, 'POST', '/v1/runs', body('something else'), who);
    expect(conflict.status).toBe(409);
    expect(conflict.body.type).toBe('urn:agent-control-plane:problem:idempotency-key-reused');
    const otherTenant = await http(platform, 'POST', '/v1/runs', body('idempotent'), {
      ...tenant(),
      'idempotency-key': who['idempotency-key'],
    });
    expect(otherTenant.status).toBe(202);
    expect(otherTenant.body.run_id).not.toBe(first.body.run_id);
  });

  test('concurrent retries with one key start exactly one run', async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const creds = platform.as({ subject: 'svc', tenant: tenantId, roles: ['dispatcher'] });
    const who = { ...creds, 'idempotency-key': `burst-${randomUUID()}` };
    const answers = await Promise.all(Array.from({ length: 8 }, () => http(platform, 'POST', '/v1/runs', body('burst'), who)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 202]);
    // The run id derives from the key, so one id proves nothing: count the executions Temporal holds
    // for this tenant (each start, even of one workflow id, is an execution of its own).
    const executions: string[] = [];
    await workflowsAfterSentinel(platform, `Tenant = "${tenantId}"`, { body: body('sentinel'), headers: creds });
    for await (const wf of platform.client.workflow.list({ query: `WorkflowId = "${answers[0]!.body.run_id as string}"` })) {
      executions.push(wf.runId);
    }
    expect(executions).toHaveLength(1);
  });

  test('a malformed key is a 400 and starts nothing', async () => {
    const since = new Date();
    const res = await http(platform, 'POST', '/v1/runs', body('x'), { ...tenant(), 'idempotency-key': 'has spaces and / slashes' });
    expect(res.status).toBe(400);
    expect(await runsStartedSince(platform, since)).toEqual([]);
  });
});

describe('GET /v1/runs', () => {
  test('lists the tenant’s runs with filters and pages through them with the page token', async () => {
    const who = tenant();
    const ids: string[] = [];
    for (const task of ['a', 'b', 'c']) ids.push((await http(platform, 'POST', '/v1/runs', body(task), who)).body.run_id as string);
    for (const id of ids) await waitForRun(platform, id, 30_000, who);
    const all = await eventually(async () => {
      const res = await http(platform, 'GET', '/v1/runs?agent=docs-researcher&status=completed', undefined, who);
      return (res.body.runs as unknown[]).length === 3 ? (res.body.runs as { run_id: string; agent: unknown; state: string }[]) : undefined;
    });
    expect(all.map((r) => r.run_id).sort()).toEqual([...ids].sort());
    expect(all[0]).toMatchObject({ agent: { name: 'docs-researcher', version: '1.0.0' }, state: 'Complete', status: 'completed' });

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const res = await http(platform, 'GET', `/v1/runs?page_size=1${token ? `&page_token=${token}` : ''}`, undefined, who);
      expect(res.status).toBe(200);
      seen.push(...(res.body.runs as { run_id: string }[]).map((r) => r.run_id));
      token = res.body.next_page_token as string | undefined;
    } while (token);
    expect(seen.sort()).toEqual([...ids].sort());

    const none = await http(platform, 'GET', '/v1/runs?agent=ticket-filer', undefined, who);
    expect(none.body.runs).toEqual([]);
    const otherTenant = await http(platform, 'GET', '/v1/runs', undefined, tenant());
    expect(otherTenant.body.runs).toEqual([]);
  });

  test.each([['unknown=1'], ['page_size=0'], ['status=done'], ['started_after=yesterday'], ['agent=BAD%20NAME'], ['page_token=%24%24']])(
    'bad query %s → 400 naming the parameter',
    async (qs) => {
      const res = await http(platform, 'GET', `/v1/runs?${qs}`, undefined, tenant());
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    },
  );
});

describe('steps and readiness', () => {
  test('GET /v1/runs/{id}/steps returns the numbered steps', async () => {
    const who = tenant();
    const id = (await http(platform, 'POST', '/v1/runs', body('steps'), who)).body.run_id as string;
    await waitForRun(platform, id, 30_000, who);
    const res = await http(platform, 'GET', `/v1/runs/${id}/steps`, undefined, who);
    expect(res.status).toBe(200);
    expect((res.body.steps as { index: number }[]).map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('/readyz is 200 with a worker polling, 503 naming the problem without one', async () => {
    const ready = await http(platform, 'GET', '/readyz');
    expect([ready.status, ready.body.checks]).toEqual([200, { temporal: 'ok', governance: 'ok', worker: 'ok' }]);
    const idle = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('idle') });
    try {
      const res = await http(idle, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks).toMatchObject({ temporal: 'ok', worker: expect.stringContaining('no worker polling') });
    } finally {
      await idle.stop();
    }
  });
});

describe('tenant isolation', () => {
  test('another tenant’s run is a 404 on every run endpoint, exactly like a missing run', async () => {
    const owner = tenant();
    const id = (await http(platform, 'POST', '/v1/runs', body('mine'), owner)).body.run_id as string;
    const stranger = tenant(['operator', 'approver', 'admin']);
    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/runs/${id}`],
      ['GET', `/v1/runs/${id}/steps`],
      ['POST', `/v1/runs/${id}/cancel`],
      ['POST', `/v1/runs/${id}/takeover`, { result: 1, reason: 'r' }],
      ['POST', `/v1/runs/${id}/approvals/apr-1`, { decision: 'approve', args_hash: 'a'.repeat(64) }],
    ];
    for (const [method, path, b] of calls) {
      const theirs = await http(platform, method, path, b, stranger);
      const missing = await http(platform, method, path.replace(id, `run-${randomUUID()}`), b, stranger);
      expect([path, theirs.status, theirs.body.type]).toEqual([path, 404, missing.body.type]);
    }
    expect((await http(platform, 'GET', `/v1/runs/${id}`, undefined, owner)).status).toBe(200);
  });

  test('approvals and run listings never show another tenant’s runs', async () => {
    const ownerTenant = `t-${randomUUID().slice(0, 8)}`;
    const owner = platform.as({ subject: 'svc', tenant: ownerTenant, roles: ['dispatcher'] });
    const ownApprover = platform.as({ subject: 'ann', tenant: ownerTenant, roles: ['approver'] });
    const foreignApprover = platform.as({ subject: 'ann', tenant: `t-${randomUUID().slice(0, 8)}`, roles: ['approver'] });
    const id = (
      await http(platform, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 'iso', context: { priority: 'low', details: 'd' } }, owner)
    ).body.run_id as string;
    const mine = await eventually(async () => {
      const list = (await http(platform, 'GET', '/v1/approvals', undefined, ownApprover)).body.approvals as { run_id: string }[];
      return list.some((a) => a.run_id === id) ? list : undefined;
    });
    expect(mine.map((a) => a.run_id)).toContain(id);
    const theirs = (await http(platform, 'GET', '/v1/approvals', undefined, foreignApprover)).body.approvals as { run_id: string }[];
    expect(theirs.map((a) => a.run_id)).not.toContain(id);
    const listed = (await http(platform, 'GET', '/v1/runs', undefined, foreignApprover)).body.runs as { run_id: string }[];
    expect(listed.map((r) => r.run_id)).not.toContain(id);
  });
});

describe('authentication and authorization', () => {
  test('no credential, an unknown key or a malformed header → 401 with WWW-Authenticate; nothing starts', async () => {
    const since = new Date();
    const attempts: Record<string, string>[] = [
      { authorization: '' },
      { authorization: 'Bearer not-a-key' },
      { 'x-api-key': 'nope' },
      { authorization: 'Basic abc' },
    ];
    for (const headers of attempts) {
      const res = await http(platform, 'POST', '/v1/runs', body('anonymous'), headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body.type).toBe('urn:agent-control-plane:problem:unauthorized');
    }
    expect((await http(platform, 'GET', '/healthz', undefined, { authorization: '' })).status).toBe(200);
    expect(await runsStartedSince(platform, since)).toEqual([]);
  });

  test('an API key works in X-API-Key as well as in Authorization: Bearer', async () => {
    const bearer = platform.as({ subject: 'key-user' });
    const key = bearer.authorization!.replace('Bearer ', '');
    const res = await http(platform, 'POST', '/v1/runs', body('api key header'), { 'x-api-key': key });
    expect(res.status).toBe(202);
    const run = await http(platform, 'GET', `/v1/runs/${res.body.run_id as string}`, undefined, bearer);
    expect(run.body.initiator).toBe('key-user');
  });

  test('403 for a dispatch without the dispatcher role, and for a cancel by someone else', async () => {
    const approverOnly = platform.as({ subject: 'ann', tenant: 'default', roles: ['approver'] });
    const denied = await http(platform, 'POST', '/v1/runs', body('no role'), approverOnly);
    expect([denied.status, denied.body.type]).toEqual([403, 'urn:agent-control-plane:problem:forbidden']);
    const id = (
      await http(
        platform,
        'POST',
        '/v1/runs',
        { agent: 'ticket-filer', task: 'x', context: { priority: 'low', details: 'd' } },
        platform.auth,
      )
    ).body.run_id as string;
    const otherDispatcher = platform.as({ subject: 'someone-else', tenant: 'default', roles: ['dispatcher'] });
    expect((await http(platform, 'POST', `/v1/runs/${id}/cancel`, undefined, otherDispatcher)).status).toBe(403);
    expect((await http(platform, 'POST', `/v1/runs/${id}/cancel`, undefined, platform.auth)).status).toBe(202);
  });
});

describe('authentication and authorization: JWT bearer tokens', () => {
  const secret = 'a-test-secret-that-is-long-enough-for-hs256';
  let jwtPlatform: TestPlatform;
  beforeAll(async () => {
    jwtPlatform = await startPlatform({ withWorker: false, jwt: { secret, issuer: 'https://idp.test', audience: 'acp' } });
  });
  afterAll(async () => {
    await jwtPlatform.stop();
  });
  const token = (claims: Record<string, unknown>, opts: { aud?: string; iss?: string; exp?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('jwt-user')
      .setIssuer(opts.iss ?? 'https://idp.test')
      .setAudience(opts.aud ?? 'acp')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(new TextEncoder().encode(secret));

  test('a valid token is the principal: subject, tenant and roles from its claims', async () => {
    const t = await token({ tenant: 'jwt-tenant', roles: ['dispatcher'] });
    const res = await http(jwtPlatform, 'POST', '/v1/runs', body('jwt'), { authorization: `Bearer ${t}` });
    expect(res.status).toBe(202);
    const run = await http(jwtPlatform, 'GET', `/v1/runs/${res.body.run_id as string}`, undefined, { authorization: `Bearer ${t}` });
    expect(run.body.initiator).toBe('jwt-user');
    const other = await token({ tenant: 'another', roles: ['dispatcher'] });
    expect(
      (await http(jwtPlatform, 'GET', `/v1/runs/${res.body.run_id as string}`, undefined, { authorization: `Bearer ${other}` })).status,
    ).toBe(404);
  });

  test.each([
    ['wrong audience', () => token({ tenant: 't', roles: [] }, { aud: 'someone-else' })],
    ['wrong issuer', () => token({ tenant: 't', roles: [] }, { iss: 'https://evil.test' })],
    ['expired', () => token({ tenant: 't', roles: [] }, { exp: '-1m' })],
    ['no tenant claim', () => token({ roles: [] })],
    ['roles not a list', () => token({ tenant: 't', roles: 'admin' })],
    [
      'signed with another secret',
      () =>
        new SignJWT({ tenant: 't' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('x')
          .setIssuer('https://idp.test')
          .setAudience('acp')
          .sign(new TextEncoder().encode('x'.repeat(40))),
    ],
  ])('%s → 401', async (_name, make) => {
    const res = await http(jwtPlatform, 'GET', '/v1/agents', undefined, { authorization: `Bearer ${await make()}` });
    expect(res.status).toBe(401);
  });
});
