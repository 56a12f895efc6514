import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentRegistry } from '../../agents/registry';
import { ErrorCode } from '../../contracts/errors';
import type { ToolRegistry } from '../../activities/tools/registry';
import { http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { localServer, registryFor, scratchDir, writeToolsDir } from '../support/tools';

// Configured tools inside real runs (Temporal dev server, worker, gateway): an open breaker's
// CircuitOpen takes the workflow's tool_failed path, and an MCP server the tests never used before
// (server-filesystem) reaches an agent with configuration alone.
let target: Awaited<ReturnType<typeof localServer>>;
let platform: TestPlatform;
let registry: ToolRegistry;
const files = realpathSync(scratchDir('fs'));

const agent = (name: string, tool: string, args: string) => `name: ${name}
version: 1.0.0
owner: test
description: uses ${tool}
model: { provider: scripted, name: s }
instructions: call the tool once
tools: [${tool}]
script:
  steps:
    - tool: ${tool}
      args: ${args}
  finish: { summary: 'done: {{task}}' }
`;

beforeAll(async () => {
  target = await localServer((_req, res) => res.writeHead(503).end('{"error":"down"}'));
  writeFileSync(path.join(files, 'runbook.txt'), 'Restart the checkout pods, then watch p95 latency.');
  const toolsDir = writeToolsDir({
    'tools.yaml': `
tools:
  - name: down_status
    kind: http
    description: a status API that is down
    side_effect: read
    method: GET
    url: '${target.url}/status/{service}'
    input_schema: { type: object, required: [service], properties: { service: { type: string } } }
    allow_private_hosts: [127.0.0.1]
    timeout_ms: 3000
    max_attempts: 3
    breaker: { consecutive_failures: 1, half_open_after_ms: 600000 }
  - name: public_status
    kind: http
    description: a status API cleared for public data only
    side_effect: read
    max_classification: public
    method: GET
    url: '${target.url}/public/{service}'
    input_schema: { type: object, required: [service], properties: { service: { type: string } } }
    allow_private_hosts: [127.0.0.1]
  - name: files
    kind: mcp
    stdio:
      package: '@modelcontextprotocol/server-filesystem'
      args: ['${files}']
    expose:
      read_text_file: { side_effect: read, max_classification: internal }
`,
  });
  const agentsDir = path.join(scratchDir('agents'), 'agents');
  for (const [name, tool, args] of [
    ['status-checker', 'down_status', "{ service: '{{task}}' }"],
    ['file-reader', 'files.read_text_file', "{ path: '{{context.path}}' }"],
    ['status-leaker', 'public_status', "{ service: '{{context.service}}' }"],
  ] as const) {
    mkdirSync(path.join(agentsDir, name), { recursive: true });
    writeFileSync(path.join(agentsDir, name, 'agent.yaml'), agent(name, tool, args));
  }
  registry = registryFor(toolsDir);
  await registry.discover();
  platform = await startPlatform({ tools: registry, agents: AgentRegistry.load(agentsDir, registry) });
}, 240_000);
afterAll(async () => {
  await platform?.stop();
  await registry?.close();
  await target?.close();
});

test('an open breaker fails the next attempt at once with CircuitOpen; the step records it and the run goes through RetryFallback', async () => {
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'status-checker', task: 'checkout' });
  expect(res.status).toBe(202);
  const run = await waitForRun(platform, res.body.run_id as string, 60_000);
  expect(run.status).toBe('failed');
  expect(run.error).toMatchObject({ type: ErrorCode.CircuitOpen });
  const steps = run.steps as { type: string; error?: { type: string } }[];
  expect(steps.map((s) => s.type)).toEqual(['Plan', 'ToolCall', 'RetryFallback', 'Fail']);
  expect(steps[1]!.error).toMatchObject({ type: ErrorCode.CircuitOpen });
  // The first attempt reached the target and opened the breaker; the retry never left the worker.
  expect(target.requests.length).toBe(1);
}, 90_000);

test('server-filesystem, configured in YAML only, serves an agent: files.read_text_file reads the file', async () => {
  const res = await http(platform, 'POST', '/v1/runs', {
    agent: 'file-reader',
    task: 'read the runbook',
    context: { path: path.join(files, 'runbook.txt') },
  });
  expect(res.status).toBe(202);
  const run = await waitForRun(platform, res.body.run_id as string, 60_000);
  expect(run.status).toBe('completed');
  expect(JSON.stringify((run.output as { evidence: unknown }).evidence)).toContain('Restart the checkout pods');
  expect(registry.spec('files.read_text_file')).toMatchObject({ side_effect: 'read' });
}, 90_000);

test('a classification breach is denied by the policy before the configured tool sends anything', async () => {
  const res = await http(platform, 'POST', '/v1/runs', {
    agent: 'status-leaker',
    task: 'check',
    context: { service: 'payroll' },
    context_labels: { service: 'confidential' },
  });
  expect(res.status).toBe(202);
  const run = await waitForRun(platform, res.body.run_id as string, 60_000);
  const denied = (run.steps as { type: string; policy?: { effect: string; rule: string } }[]).find((s) => s.policy?.effect === 'deny');
  expect(denied?.policy).toMatchObject({ rule: 'no-data-above-clearance' });
  expect(target.requests.filter((r) => r.url.startsWith('/public'))).toEqual([]);
}, 90_000);
