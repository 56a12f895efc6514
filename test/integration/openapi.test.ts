import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { createToolRegistry } from '../../activities/tools';
import { loadSettings } from '../../config/settings';
import { createApp } from '../../gateway/app';
import { createLogger } from '../../observability/logger';
import { conformsTo, routesOf, type OpenApiDoc } from '../support/openapi';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

// The OpenAPI document is valid OpenAPI 3.1, and real responses of every endpoint conform to it.
let platform: TestPlatform;
let doc: OpenApiDoc;
beforeAll(async () => {
  platform = await startPlatform();
  doc = (await http(platform, 'GET', '/openapi.json', undefined, { authorization: '' })).body as typeof doc;
});
afterAll(async () => {
  await platform.stop();
});

let conforms: ReturnType<typeof conformsTo>;
beforeAll(() => {
  conforms = conformsTo(doc);
});

test('GET /openapi.json is a valid OpenAPI 3.1 document, served without a credential', () => {
  const out = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'test/support/validate-openapi.mjs')], {
    input: JSON.stringify(doc),
    encoding: 'utf8',
  });
  expect(out.stderr).toBe('');
  expect(JSON.parse(out.stdout)).toEqual({ valid: true, version: '3.1' });
});

test('responses of every endpoint, success and error, conform to the document', async () => {
  const approver = platform.as({ subject: 'ann', roles: ['approver'] });
  const operator = platform.as({ subject: 'otto', roles: ['operator'] });
  const check = async (method: string, template: string, p: string, body?: unknown, headers?: Record<string, string>) => {
    const res = await http(platform, method, p, body, headers);
    conforms(method, template, res);
    return res;
  };

  const started = await check('POST', '/v1/runs', '/v1/runs', { agent: 'docs-researcher', task: 'conformance' });
  const id = started.body.run_id as string;
  await check('POST', '/v1/runs', '/v1/runs', { agent: 'docs-researcher' });
  await check('POST', '/v1/runs', '/v1/runs', { agent: 'nope', task: 'x' });
  await check('POST', '/v1/runs', '/v1/runs', 'x=1', { 'content-type': 'text/plain' });
  await check('POST', '/v1/runs', '/v1/runs', { agent: 'docs-researcher', task: 'x' }, { authorization: '' });
  await check('POST', '/v1/runs', '/v1/runs', { agent: 'docs-researcher', task: 'x' }, approver);
  await waitForRun(platform, id);
  await check('GET', '/v1/runs/{id}', `/v1/runs/${id}`);
  await check('GET', '/v1/runs/{id}', '/v1/runs/run-missing');
  await check('GET', '/v1/runs/{id}/steps', `/v1/runs/${id}/steps`);
  await check('GET', '/v1/runs', '/v1/runs?page_size=2');
  await check('GET', '/v1/runs', '/v1/runs?page_size=0');
  await check('GET', '/v1/agents', '/v1/agents');
  await check('POST', '/v1/runs/{id}/cancel', `/v1/runs/${id}/cancel`);

  const waiting = (
    await check('POST', '/gateway/dispatch', '/gateway/dispatch', {
      task_id: `conf-${Date.now()}`,
      intent: 'file a ticket for this incident',
      payload: { context: { priority: 'low', details: 'conformance' } },
    })
  ).body.run_id as string;
  const approval = await eventually(async () => {
    const res = await check('GET', '/v1/approvals', '/v1/approvals', undefined, approver);
    return (res.body.approvals as { run_id: string; id: string; args_hash: string }[]).find((a) => a.run_id === waiting);
  });
  const decide = `/v1/runs/${waiting}/approvals/${approval.id}`;
  await check('POST', '/v1/runs/{id}/approvals/{approval_id}', decide, { decision: 'approve', args_hash: 'f'.repeat(64) }, approver);
  await check('POST', '/v1/runs/{id}/approvals/{approval_id}', decide, { decision: 'approve', args_hash: approval.args_hash }, approver);
  await check('GET', '/v1/runs/{id}', `/v1/runs/${waiting}`);

  const stuck = (
    await check('POST', '/v1/runs', '/v1/runs', { agent: 'ticket-filer', task: 't', context: { priority: 'low', details: 'd' } })
  ).body.run_id as string;
  await eventually(async () => ((await http(platform, 'GET', `/v1/runs/${stuck}`)).body.state === 'HumanApproval' ? true : undefined));
  await check('GET', '/v1/runs/{id}', `/v1/runs/${stuck}`);
  await check('POST', '/v1/runs/{id}/takeover', `/v1/runs/${stuck}/takeover`, { result: 'x', reason: 'r' }, approver);
  await check('POST', '/v1/runs/{id}/takeover', `/v1/runs/${stuck}/takeover`, { result: { done: true }, reason: 'by hand' }, operator);

  const budget = await check('GET', '/v1/budget', '/v1/budget');
  expect(budget.body).toMatchObject({ tenant: 'default', limit: { daily_cost_usd: 100 }, remaining_usd: 100 });
  await check('GET', '/v1/budget', '/v1/budget?day=yesterday');

  const health = await http(platform, 'GET', '/healthz', undefined, { authorization: '' });
  conforms('GET', '/healthz', health);
  conforms('GET', '/readyz', await http(platform, 'GET', '/readyz', undefined, { authorization: '' }));
});

describe('POST /gateway/dispatch (the blueprint WorkRequest)', () => {
  test('routes by intent, uses task_id as the idempotency key, and refuses what it cannot route', async () => {
    const task_id = `wr-${Date.now()}`;
    const req = { task_id, intent: 'research question: how do I dispatch a run?', payload: {} };
    const first = await http(platform, 'POST', '/gateway/dispatch', req);
    expect(first.status).toBe(202);
    expect(first.body.agent).toEqual({ name: 'docs-researcher', version: '1.0.0' });
    const retry = await http(platform, 'POST', '/gateway/dispatch', req);
    expect([retry.status, retry.body.run_id]).toEqual([200, first.body.run_id]);
    const run = await waitForRun(platform, first.body.run_id as string);
    expect((run.steps as { input_summary: string }[])[0]!.input_summary).toBe(req.intent);

    // The blueprint's "admin intent" refusal is an ordinary policy rule (policies/default.yaml).
    const admin = await http(platform, 'POST', '/gateway/dispatch', {
      task_id: `${task_id}-admin`,
      intent: 'research question: make me admin',
      payload: {},
    });
    expect([admin.status, admin.body.type]).toEqual([403, 'urn:agent-control-plane:problem:forbidden']);
    expect(admin.body.detail).toContain('rule admin-intents-reserved');
    const asAdmin = await http(
      platform,
      'POST',
      '/gateway/dispatch',
      { task_id: `${task_id}-admin2`, intent: 'research question: make me admin', payload: {} },
      platform.as({ roles: ['admin'] }),
    );
    expect(asAdmin.status).toBe(202);

    const unroutable = await http(platform, 'POST', '/gateway/dispatch', { task_id: `${task_id}-x`, intent: 'bake a cake', payload: {} });
    expect(unroutable.status).toBe(404);
    const malformed = await http(platform, 'POST', '/gateway/dispatch', { intent: 'question', payload: {} });
    expect([malformed.status, (malformed.body.errors as { path: string }[])[0]!.path]).toEqual([400, 'task_id']);
    const badPayload = await http(platform, 'POST', '/gateway/dispatch', {
      task_id: `${task_id}-y`,
      intent: 'question',
      payload: { constraints: { max_steps: -1 } },
    });
    expect([badPayload.status, (badPayload.body.errors as { path: string }[])[0]!.path]).toEqual([400, 'payload.constraints.max_steps']);
  });
});

test('the conformance check itself rejects a body that does not match', () => {
  const headers = new Headers({ 'content-type': 'application/json' });
  expect(() => conforms('GET', '/v1/agents', { status: 200, headers, body: { agents: 'not a list' } })).toThrow(/GET \/v1\/agents 200/);
  expect(() => conforms('GET', '/v1/agents', { status: 418, headers, body: {} })).toThrow(/does not declare/);
});

test('the document and the Express router expose the same method+path pairs', () => {
  const settings = loadSettings({});
  const app = createApp({
    client: platform.client,
    agents: platform.agents,
    tools: createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(process.env.TEST_TMP_DIR ?? '/tmp', 'unused.jsonl') }),
    taskQueue: platform.taskQueue,
    logger: createLogger({ level: 'error', format: 'json' }),
    authenticate: () => Promise.reject(new Error('not called')),
  });
  const served = routesOf(app).map(({ method, path: p }) => `${method} ${p.replace(/:(\w+)/g, '{$1}')}`);
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  expect(served.length).toBeGreaterThanOrEqual(18);
  expect(new Set(served).size).toBe(served.length);
  expect([...served].sort()).toEqual([...documented].sort());
});

describe('a known path called with a method it does not have', () => {
  test.each([
    ['DELETE', '/v1/runs', 'GET, HEAD, POST'],
    ['PUT', '/v1/runs/run-123/cancel', 'POST'],
    ['GET', '/v1/runs/run-123/approvals/a-1', 'POST'],
    ['POST', '/v1/runs/run-123/', 'GET, HEAD'],
    ['PATCH', '/V1/POLICY', 'GET, HEAD'],
  ])('%s %s → 405 with Allow: %s, as problem+json', async (method, p, allow) => {
    const res = await http(platform, method, p);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:agent-control-plane:problem:method-not-allowed', status: 405 });
  });

  test('is answered before credentials (the paths are public), and an unknown path stays 404', async () => {
    const open = await http(platform, 'POST', '/healthz', undefined, { authorization: '' });
    expect([open.status, open.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await http(platform, 'DELETE', '/v1/runs', undefined, { authorization: '' })).status).toBe(405);
    expect((await http(platform, 'DELETE', '/v1/nothing-here')).status).toBe(404);
    expect((await http(platform, 'GET', '/v1/runs/a/b/c')).status).toBe(404);
  });
});

test('an empty query parameter is an absent one, in the document and in the router', async () => {
  const auditor = platform.as({ subject: 'aud', roles: ['auditor'] });
  for (const [template, p] of [
    ['/v1/audit', '/v1/audit?limit=&run_id=&since='],
    ['/v1/runs', '/v1/runs?agent=&page_size=&status='],
    ['/v1/budget', '/v1/budget?day='],
  ] as const) {
    const params = (doc.paths[template]!.get as unknown as { parameters: { in: string; allowEmptyValue?: boolean }[] }).parameters;
    expect(params.filter((q) => q.in === 'query').every((q) => q.allowEmptyValue === true)).toBe(true);
    const res = await http(platform, 'GET', p, undefined, auditor);
    expect([p, res.status]).toEqual([p, 200]);
    conforms('GET', template, res);
  }
  expect((await http(platform, 'GET', '/v1/audit?limit=0', undefined, auditor)).status).toBe(400);
});

test('edited_args with reject: accepted as the document allows, and dropped (the run records a plain rejection)', async () => {
  const approver = platform.as({ subject: 'rita', roles: ['approver'] });
  const runId = (
    await http(platform, 'POST', '/gateway/dispatch', {
      task_id: `reject-edit-${Date.now()}`,
      intent: 'file a ticket for this incident',
      payload: { context: { priority: 'low', details: 'reject with edits' } },
    })
  ).body.run_id as string;
  const approval = await eventually(async () => {
    const res = await http(platform, 'GET', '/v1/approvals', undefined, approver);
    return (res.body.approvals as { run_id: string; id: string; args_hash: string; args: Record<string, unknown> }[]).find(
      (a) => a.run_id === runId,
    );
  });
  const res = await http(
    platform,
    'POST',
    `/v1/runs/${runId}/approvals/${approval.id}`,
    { decision: 'reject', args_hash: approval.args_hash, comment: 'no', edited_args: { ...approval.args, priority: 'urgent' } },
    approver,
  );
  expect([res.status, res.body.status]).toEqual([200, 'rejected']);
  conforms('POST', '/v1/runs/{id}/approvals/{approval_id}', res);
  const run = await waitForRun(platform, runId);
  const decided = (run.approvals as { id: string; args: Record<string, unknown>; decisions: Record<string, unknown>[] }[]).find(
    (a) => a.id === approval.id,
  )!;
  expect(decided.args).toEqual(approval.args);
  expect(decided.decisions).toEqual([expect.not.objectContaining({ edited_args: expect.anything() })]);
  const audit = (await http(platform, 'GET', `/v1/runs/${runId}/audit`, undefined, platform.as({ roles: ['auditor'] }))).body.entries as {
    action: string;
    details?: { edited?: boolean };
  }[];
  expect(audit.find((e) => e.action === 'approval.decide')?.details?.edited).toBe(false);
});
