import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToolRegistry } from '../../activities/tools';
import { closeMcpServers, McpServerConnection } from '../../activities/tools/mcp';
import { memoryServerSpec } from '../../activities/tools/memory-note';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings } from '../../config/settings';
import { AgentDefinitionSchema, type AgentDefinition } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Step } from '../../contracts/run';
import { http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

// Data classification end to end, checked where the data would land: a tool backed by a real MCP
// server (@modelcontextprotocol/server-memory, spawned by the worker over stdio), dispatched through
// the real gateway, run by a real worker on the test Temporal server. The server's own store is read
// back through a second, separate server process on the same graph file.

/** A scripted agent that notes two facts about a customer: one from the task, then the context field `fact`. */
function keeper(name: string, factSchema: Record<string, unknown> = { type: 'string' }): AgentDefinition {
  return AgentDefinitionSchema.parse({
    name,
    version: '1.0.0',
    owner: 'platform-team',
    description: 'Keeps notes about customers in the memory server.',
    model: { provider: 'scripted', name: `${name}-script` },
    instructions: 'Record what the task and the context say about the customer.',
    tools: ['memory_note'],
    input_schema: {
      type: 'object',
      required: ['customer', 'fact'],
      properties: { customer: { type: 'string', minLength: 1 }, fact: factSchema },
    },
    script: {
      steps: [
        {
          tool: 'memory_note',
          args: { entity: '{{context.customer}}', entity_type: 'customer', observation: 'contacted about: {{task}}' },
        },
        { tool: 'memory_note', args: { entity: '{{context.customer}}', entity_type: 'customer', observation: 'fact: {{context.fact}}' } },
      ],
      finish: { summary: 'noted {{evidence_count}} facts' },
    },
  });
}

let dir: string;
let memoryFile: string;
let platform: TestPlatform;
let reader: McpServerConnection;
beforeAll(async () => {
  dir = path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), `classification-mcp-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  memoryFile = path.join(dir, 'memory.jsonl');
  const tools = createToolRegistry({ docsDir: loadSettings({}).docsDir, ticketsFile: path.join(dir, 'tickets.jsonl'), memoryFile });
  const agents = new AgentRegistry(
    [keeper('memory-keeper'), keeper('strict-keeper', { type: 'string', 'x-classification': 'confidential' })],
    tools,
  );
  platform = await startPlatform({ agents, tools, environment: 'dev' });
  // Not the worker's connection: a server process of its own, reading the same graph file.
  reader = new McpServerConnection(memoryServerSpec(memoryFile));
});
afterAll(async () => {
  await platform?.stop();
  await reader?.close();
  await closeMcpServers();
  rmSync(dir, { recursive: true, force: true });
});

/** What the memory server holds about a customer, as the server itself reports it (read_graph). */
async function serverNotes(customer: string): Promise<string[]> {
  const graph = (await reader.callTool('read_graph', {})).structuredContent as { entities: { name: string; observations: string[] }[] };
  return graph.entities.find((e) => e.name === customer)?.observations ?? [];
}
const graphFile = () => (existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8') : '');

async function dispatch(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await http(platform, 'POST', '/v1/runs', body);
  expect(res.status).toBe(202);
  return waitForRun(platform, res.body.run_id as string);
}

function expectDeniedAtTheSecondNote(run: Record<string, unknown>): void {
  expect(run.status).toBe('failed');
  expect(run.error).toMatchObject({ type: ErrorCode.PolicyDenied, message: expect.stringContaining('above its clearance') });
  const toolSteps = (run.steps as Step[]).filter((s) => s.type === 'ToolCall');
  expect(toolSteps).toHaveLength(2);
  expect(toolSteps[0]!.policy).toMatchObject({ effect: 'allow' });
  expect(toolSteps[1]!.policy).toMatchObject({ effect: 'deny', rule: 'no-data-above-clearance' });
}

test("a confidential field never reaches a tool cleared only for internal data, checked at the tool's own server", async () => {
  const customer = `acme-${randomUUID()}`;
  const secret = `salary-${randomUUID()}`;
  const run = await dispatch({
    agent: 'memory-keeper',
    task: 'renewal call',
    context: { customer, fact: secret },
    context_labels: { fact: 'confidential' },
  });
  // The first note went through the MCP server into its store; the confidential value never did.
  expect(await serverNotes(customer)).toEqual(['contacted about: renewal call']);
  expect(graphFile()).toContain(customer);
  expect(graphFile()).not.toContain(secret);
  // Because the policy denied the second call before the activity ran.
  expectDeniedAtTheSecondNote(run);
});

test('a field the agent declares confidential (x-classification) is kept from the server without any label in the request', async () => {
  const customer = `globex-${randomUUID()}`;
  const secret = `diagnosis-${randomUUID()}`;
  const run = await dispatch({ agent: 'strict-keeper', task: 'support call', context: { customer, fact: secret } });
  expect(await serverNotes(customer)).toEqual(['contacted about: support call']);
  expect(graphFile()).not.toContain(secret);
  expectDeniedAtTheSecondNote(run);
});

test('control: the same field labelled internal reaches the server and is in its store', async () => {
  const customer = `initech-${randomUUID()}`;
  const value = `prefers-email-${randomUUID()}`;
  const run = await dispatch({
    agent: 'memory-keeper',
    task: 'renewal call',
    context: { customer, fact: value },
    context_labels: { fact: 'internal' },
  });
  expect(run.status).toBe('completed');
  const output = run.output as { actions_taken: { tool: string }[] };
  expect(output.actions_taken.map((a) => a.tool)).toEqual(['memory_note', 'memory_note']);
  expect(await serverNotes(customer)).toEqual(['contacted about: renewal call', `fact: ${value}`]);
  expect(graphFile()).toContain(value);
});
