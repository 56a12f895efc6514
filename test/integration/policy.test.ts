import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createDocsSearchTool } from '../../activities/tools/docs-search';
import { ToolRegistry } from '../../activities/tools/registry';
import { createTicketCreateTool } from '../../activities/tools/ticket-create';
import { FileTicketStore } from '../../activities/tools/ticket-store';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Approval, Step } from '../../contracts/run';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { runsStartedSince } from '../support/visibility';

// The policy inside runs: checked before every tool and model call, with the decision recorded on
// the step. A prod platform (PLATFORM_ENV=prod) and a dev one share the real policies/ folder.
const base = AgentDefinitionSchema.parse(parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents/ticket-filer/agent.yaml'), 'utf8')));
const noRules = AgentDefinitionSchema.parse({ ...base, name: 'plain-filer', approvals: [] });
const secretive = AgentDefinitionSchema.parse({
  ...base,
  name: 'secret-filer',
  approvals: [],
  input_schema: {
    type: 'object',
    required: ['secret'],
    properties: { secret: { type: 'string', 'x-classification': 'confidential' }, note: { type: 'string' } },
  },
  script: {
    steps: [{ tool: 'ticket_create', args: { title: '{{task}}', body: 'secret: {{context.secret}}', priority: 'low' } }],
    finish: { summary: 'never' },
  },
});

// No label in its schema: whatever classification `note` has comes from the caller.
const unlabelled = AgentDefinitionSchema.parse({
  ...base,
  name: 'note-filer',
  approvals: [],
  input_schema: { type: 'object', required: ['note'], properties: { note: { type: 'string' } } },
  script: {
    steps: [{ tool: 'ticket_create', args: { title: '{{task}}', body: 'note: {{context.note}}', priority: 'low' } }],
    finish: { summary: 'filed' },
  },
});

let tmp: string;
let store: FileTicketStore;
let prod: TestPlatform;
let dev: TestPlatform;
beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-policy-'));
  store = new FileTicketStore(path.join(tmp, 'tickets.jsonl'));
  const tools = new ToolRegistry([createDocsSearchTool(loadSettings({}).docsDir), createTicketCreateTool(store)]);
  const agents = () => new AgentRegistry([noRules, secretive, unlabelled], tools);
  prod = await startPlatform({ agents: agents(), tools, environment: 'prod' });
  dev = await startPlatform({ agents: agents(), tools, environment: 'dev' });
});
afterAll(async () => {
  await prod.stop();
  await dev.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const ticketsOf = async (runId: string) => (await store.list()).filter((t) => t.run_id === runId);

test('in prod, a write tool call pauses for an approver named by the policy; in dev it does not', async () => {
  const body = { agent: 'plain-filer', task: 'prod write', context: { priority: 'low', details: 'd' } };
  const runId = (await http(prod, 'POST', '/v1/runs', body)).body.run_id as string;
  const approval = await eventually(
    async () => ((await http(prod, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.[0],
  );
  expect(approval).toMatchObject({ tool: 'ticket_create', approvers: { roles: ['approver'] }, reason: expect.stringContaining('prod') });
  const run = await http(prod, 'GET', `/v1/runs/${runId}`);
  const toolStep = (run.body.steps as Step[]).find((s) => s.type === 'ToolCall' && s.input_summary.startsWith('ticket_create'))!;
  expect(toolStep.policy).toMatchObject({ effect: 'require_approval', rule: 'prod-writes-need-approval' });
  expect(await ticketsOf(runId)).toEqual([]);
  const ok = await http(
    prod,
    'POST',
    `/v1/runs/${runId}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: approval.args_hash },
    prod.as({ roles: ['approver'] }),
  );
  expect(ok.status).toBe(200);
  await waitForRun(prod, runId);
  expect(await ticketsOf(runId)).toHaveLength(1);

  const devRun = await waitForRun(dev, (await http(dev, 'POST', '/v1/runs', body)).body.run_id as string);
  expect(devRun.status).toBe('completed');
  expect(devRun.approvals).toEqual([]);
});

test('a confidential context field never reaches a tool cleared only for internal data', async () => {
  const runId = (await http(dev, 'POST', '/v1/runs', { agent: 'secret-filer', task: 'leak?', context: { secret: 'hunter2-payroll' } })).body
    .run_id as string;
  const run = await waitForRun(dev, runId);
  expect(run.status).toBe('failed');
  expect(run.error).toMatchObject({ type: ErrorCode.PolicyDenied, message: expect.stringContaining('above its clearance') });
  const denied = (run.steps as Step[]).find((s) => s.policy?.effect === 'deny')!;
  expect(denied.policy!.rule).toBe('no-data-above-clearance');
  // The tool's own store never saw it.
  expect(JSON.stringify(await store.list())).not.toContain('hunter2-payroll');
});

test('a request that labels a field lower than the agent declares is refused, and starts nothing', async () => {
  const since = new Date();
  const res = await http(dev, 'POST', '/v1/runs', {
    agent: 'secret-filer',
    task: 'launder',
    context: { secret: 's' },
    context_labels: { secret: 'public' },
  });
  expect(res.status).toBe(400);
  expect(res.body.type).toBe('urn:agent-control-plane:problem:classification-too-low');
  expect((res.body.errors as { path: string }[])[0]!.path).toBe('context_labels.secret');
  const sentinel = { agent: 'plain-filer', task: 'sentinel', context: { priority: 'low', details: 'd' } };
  expect(await runsStartedSince(dev, since, { body: sentinel })).toEqual([]);
});

test('a field labelled confidential by the caller is treated as confidential', async () => {
  // `note` is unlabelled in the agent's schema, so only the caller's label can make it confidential.
  const dispatch = async (value: string, labels?: Record<string, string>) =>
    waitForRun(
      dev,
      (
        await http(dev, 'POST', '/v1/runs', {
          agent: 'note-filer',
          task: 'caller label',
          context: { note: value },
          ...(labels ? { context_labels: labels } : {}),
        })
      ).body.run_id as string,
    );
  const labelled = await dispatch('caller-says-confidential', { note: 'confidential' });
  expect(labelled.status).toBe('failed');
  expect(labelled.error).toMatchObject({ type: ErrorCode.PolicyDenied, message: expect.stringContaining('above its clearance') });
  expect((labelled.steps as Step[]).find((s) => s.policy?.effect === 'deny')!.policy!.rule).toBe('no-data-above-clearance');
  // The same request without the caller's label is internal data, which the tool may take.
  const plain = await dispatch('no-label-given');
  expect(plain.status).toBe('completed');
  const tickets = JSON.stringify(await store.list());
  expect(tickets).toContain('no-label-given');
  expect(tickets).not.toContain('caller-says-confidential');
});
