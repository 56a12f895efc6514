import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings } from '../../config/settings';
import { RunSearchAttributes } from '../../contracts/run-search-attributes';
import { createApp } from '../../gateway/app';
import { createLogger } from '../../observability/logger';
import { installTemporalRuntime } from '../../worker/worker';
import { capturingLogger, eventually, http, testTemporal, uniqueQueue, type CapturedLogs } from '../support/platform';

// Errors a person can act on: an unexpected failure is logged with its stack under the request id the
// 500 names, and a state query that fails is not reported as a missing worker.

const { address, namespace } = testTemporal();
const tenant = `errors-${randomUUID()}`;
let connection: Connection;
let client: Client;
let server: Server;
let baseUrl: string;
let logs: CapturedLogs;

beforeAll(async () => {
  installTemporalRuntime(createLogger({ level: 'error', format: 'json' }));
  connection = await Connection.connect({ address });
  client = new Client({ connection, namespace });
  const settings = loadSettings({});
  const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: `/tmp/${tenant}.jsonl` });
  logs = capturingLogger('gateway');
  const app = createApp({
    client,
    agents: AgentRegistry.load(settings.agentsDir, tools),
    tools,
    taskQueue: uniqueQueue('errors-gateway'),
    logger: logs.logger,
    queryTimeoutMs: 1500,
    // An authenticator that fails unexpectedly (as a JWKS fetch or a key store might) on request.
    authenticate: async (req) => {
      if (req.get('x-test-explode')) throw new Error('authenticator exploded');
      return { subject: 'erin', tenant, roles: ['dispatcher'] };
    },
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await connection.close();
});

test('an unexpected error: 500 naming the request id, and a log line with that id and the stack', async () => {
  const requestId = `req-${randomUUID()}`;
  const res = await http(baseUrl, 'GET', '/v1/agents', undefined, { 'x-request-id': requestId, 'x-test-explode': '1' });
  expect(res.status).toBe(500);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'urn:agent-control-plane:problem:internal-error', request_id: requestId });
  expect(res.body.detail).toContain(requestId);
  expect(JSON.stringify(res.body)).not.toContain('authenticator exploded');
  const line = await eventually(async () => logs.lines().find((l) => l.message === 'unhandled error' && l.request_id === requestId));
  expect(line).toMatchObject({ level: 'error', error: 'authenticator exploded', method: 'GET', path: '/v1/agents' });
  expect(line.stack).toMatch(/Error: authenticator exploded\n\s+at /);
});

test('a run that does not answer the state query is reported as such; one without a worker as no worker', async () => {
  const taskQueue = uniqueQueue('query-less');
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('../support/workflows/query-less'),
  });
  const runId = `run-query-less-${randomUUID()}`;
  const handle = await client.workflow.start('agentRun', {
    taskQueue,
    workflowId: runId,
    typedSearchAttributes: [
      { key: RunSearchAttributes.tenant, value: tenant },
      { key: RunSearchAttributes.initiator, value: 'erin' },
    ],
  });
  try {
    await worker.runUntil(async () => {
      // The worker has completed the first workflow task, so there is state to ask for.
      await eventually(async () => (Number((await handle.describe()).historyLength) > 2 ? true : undefined));
      const view = await http(baseUrl, 'GET', `/v1/runs/${runId}`);
      expect(view.status).toBe(200);
      expect(view.body.warnings).toEqual([expect.stringMatching(/^the state query failed: the run does not answer the state query/)]);
      const steps = await http(baseUrl, 'GET', `/v1/runs/${runId}/steps`);
      expect(steps.body).toMatchObject({ steps: [], warnings: [expect.stringMatching(/^the state query failed/)] });
    });
    // The worker is gone: the query waits out its deadline, and that is what the warning says.
    const view = await http(baseUrl, 'GET', `/v1/runs/${runId}`);
    expect(view.status).toBe(200);
    expect(view.body.warnings).toEqual(['no worker answered the state query; is a worker polling the task queue?']);
  } finally {
    await handle.terminate('test over');
    await nativeConnection.close();
  }
});
