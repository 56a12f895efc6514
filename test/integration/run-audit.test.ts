import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import type { Approval } from '../../contracts/run';
import type { AuditRow } from '../../contracts/governance';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { runsStartedSince } from '../support/visibility';

// The audit ledger written from inside runs (policy decisions that were not a plain allow, approvals
// requested and closed, write-tool effects, cancellations, takeovers) next to the gateway's rows, all
// carrying the trace id of the request that started the run.
const base = AgentDefinitionSchema.parse(parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents/ticket-filer/agent.yaml'), 'utf8')));
const plain = AgentDefinitionSchema.parse({ ...base, name: 'plain-filer', approvals: [] });
const secretive = AgentDefinitionSchema.parse({
  ...base,
  name: 'secret-filer',
  approvals: [],
  input_schema: { type: 'object', properties: { secret: { type: 'string', 'x-classification': 'confidential' } } },
  script: {
    steps: [{ tool: 'ticket_create', args: { title: '{{task}}', body: 'secret: {{context.secret}}', priority: 'low' } }],
    finish: { summary: 'never' },
  },
});

let prod: TestPlatform;
beforeAll(async () => {
  const settings = loadSettings({});
  const tools = createToolRegistry({
    docsDir: settings.docsDir,
    ticketsFile: path.join(process.env.TEST_TMP_DIR!, 'run-audit-tickets.jsonl'),
  });
  prod = await startPlatform({ agents: new AgentRegistry([plain, secretive], tools), tools, environment: 'prod' });
});
afterAll(async () => {
  await prod?.stop();
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` };
const rowsOf = (runId: string) => prod.governance.list({ tenant: 'default', run_id: runId, limit: 100 });
/** The run's rows once the one with `action` is in: runs write their rows without waiting for them. */
const rowsOnce = (runId: string, action: string) =>
  eventually(async () => {
    const rows = await rowsOf(runId);
    return rows.some((r) => r.action === action) ? rows : undefined;
  });
const actions = (rows: AuditRow[]) => rows.map((r) => `${r.action}:${r.outcome}`).reverse();

test('a prod write: the policy decision, the approval requested, decided and closed, and the effect, in order', async () => {
  const res = await http(
    prod,
    'POST',
    '/v1/runs',
    { agent: 'plain-filer', task: 'audited write', context: { priority: 'low', details: 'd' } },
    { ...prod.auth, ...traceparent },
  );
  expect(res.headers.get('traceparent')).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  const runId = res.body.run_id as string;
  const approval = await eventually(
    async () => ((await http(prod, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.[0],
  );
  const ok = await http(
    prod,
    'POST',
    `/v1/runs/${runId}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: approval.args_hash },
    prod.as({ subject: 'alice', roles: ['approver'] }),
  );
  expect(ok.status).toBe(200);
  expect((await waitForRun(prod, runId)).status).toBe('completed');

  const rows = await rowsOnce(runId, 'tool.write');
  // The gateway's rows and the run's are written concurrently: each side's own order is what holds.
  expect([...actions(rows)].sort()).toEqual(
    [
      'dispatch:accepted',
      'policy.tool_call:require_approval',
      'approval.request:pending',
      'approval.decide:approve',
      'approval.close:approved',
      'tool.write:done',
    ].sort(),
  );
  // The run's rows in step order: rows of one workflow task (ToolCall's policy decision and the
  // HumanApproval it leads to) are written by concurrent local activities, so their ids may swap; the
  // step each row carries is the run's order (batching a task's rows in one write is issue 26's).
  const stepOf = (r: AuditRow) => Number((r.details as { step?: number } | undefined)?.step ?? 0);
  const runRows = rows.filter((r) => !['dispatch', 'approval.decide'].includes(r.action));
  const inStepOrder = [...runRows].reverse().sort((a, b) => stepOf(a) - stepOf(b));
  expect(inStepOrder.map((r) => `${r.action}:${r.outcome}`)).toEqual([
    'policy.tool_call:require_approval',
    'approval.request:pending',
    'approval.close:approved',
    'tool.write:done',
  ]);
  const byAction = Object.fromEntries(rows.map((r) => [r.action, r]));
  expect(byAction['policy.tool_call']).toMatchObject({
    principal: 'tester',
    rule: 'prod-writes-need-approval',
    reason: expect.stringContaining('policies/default.yaml:'),
    details: { tool: 'ticket_create', side_effect: 'write', args_hash: approval.args_hash, agent: 'plain-filer' },
  });
  expect(byAction['approval.request']!.details).toMatchObject({ approval_id: approval.id, approvers: { roles: ['approver'] } });
  expect(byAction['approval.close']).toMatchObject({ principal: 'alice' });
  expect(byAction['tool.write']!.details).toMatchObject({ tool: 'ticket_create', args_hash: approval.args_hash });
  // Who, when, why, and one trace from the HTTP request through the run.
  // (The approver's decision came in its own request, with its own trace.)
  for (const row of rows) {
    const trace = row.action === 'approval.decide' ? expect.stringMatching(/^(?!4bf92f)[0-9a-f]{32}$/) : TRACE;
    expect(row).toMatchObject({ trace_id: trace, tenant: 'default', run_id: runId, at: expect.any(String) });
  }
}, 60_000);

test('a tool call denied for data above its clearance is in the ledger with its rule', async () => {
  const res = await http(prod, 'POST', '/v1/runs', { agent: 'secret-filer', task: 'leak?', context: { secret: 'hunter2' } });
  const runId = res.body.run_id as string;
  expect((await waitForRun(prod, runId)).status).toBe('failed');
  // The run writes its rows without waiting for each, but its execution closes only once they are all
  // in: wait for that settled ledger, so the absence of a write below is not just a row not yet written.
  await eventually(async () => ((await prod.client.workflow.getHandle(runId).describe()).status.name !== 'RUNNING' ? true : undefined));
  const rows = await rowsOf(runId);
  expect(rows.find((r) => r.action === 'policy.tool_call')).toMatchObject({ outcome: 'deny', rule: 'no-data-above-clearance' });
  expect(rows.some((r) => r.action === 'tool.write')).toBe(false);
}, 60_000);

test('a cancellation made outside the gateway (the Temporal client, as the Web UI does) is recorded by the run', async () => {
  const runId = (
    await http(prod, 'POST', '/v1/runs', { agent: 'plain-filer', task: 'cancel me', context: { priority: 'low', details: 'd' } })
  ).body.run_id as string;
  await eventually(async () => ((await http(prod, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.[0]);
  await prod.client.workflow.getHandle(runId).cancel();
  expect((await waitForRun(prod, runId)).status).toBe('cancelled');
  const rows = await rowsOnce(runId, 'run.cancelled');
  expect(actions(rows)).toEqual(expect.arrayContaining(['approval.request:pending', 'run.cancelled:cancelled']));
  expect(actions(rows)).not.toContain('approval.close:approved');
}, 60_000);

test('a manual takeover is recorded by the gateway (who asked) and by the run (what it completed)', async () => {
  const runId = (
    await http(prod, 'POST', '/v1/runs', { agent: 'plain-filer', task: 'take over', context: { priority: 'low', details: 'd' } })
  ).body.run_id as string;
  await eventually(async () => ((await http(prod, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.[0]);
  const res = await http(
    prod,
    'POST',
    `/v1/runs/${runId}/takeover`,
    { result: { done: 'by hand' }, reason: 'on call fixed it' },
    prod.as({ subject: 'olga', roles: ['operator'] }),
  );
  expect(res.status).toBe(200);
  const rows = await rowsOnce(runId, 'run.taken_over');
  expect(rows.find((r) => r.action === 'run.takeover')).toMatchObject({ principal: 'olga', outcome: 'completed' });
  expect(rows.find((r) => r.action === 'run.taken_over')).toMatchObject({ principal: 'olga', reason: 'on call fixed it' });
}, 60_000);

test('a denied dispatch starts no run and is still in the ledger, with its trace id', async () => {
  const since = new Date();
  const res = await http(
    prod,
    'POST',
    '/v1/runs',
    { agent: 'plain-filer', task: 'no' },
    { ...prod.as({ subject: 'viewer-vic', roles: ['viewer'] }), ...traceparent },
  );
  expect(res.status).toBe(403);
  const rows = await prod.governance.list({ tenant: 'default', principal: 'viewer-vic' });
  expect(rows).toEqual([expect.objectContaining({ action: 'dispatch', outcome: 'denied', rule: 'default-deny', trace_id: TRACE })]);
  expect(rows[0]!.run_id).toBeUndefined();
  const sentinel = { agent: 'plain-filer', task: 'sentinel', context: { priority: 'low', details: 'd' } };
  expect(await runsStartedSince(prod, since, { body: sentinel })).toEqual([]);
});
