import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { addProcessSecrets, REDACTED, secretEnvValues } from '../../observability/redact';
import { installTracing, type Tracing } from '../../observability/tracing';
import { capturingLogger, eventually, http, startPlatform, waitForRun, type CapturedLogs, type TestPlatform } from '../support/platform';

// A configured secret (an API key in the environment), credential-shaped strings (a bearer token, a
// vendor key) and a context field labelled restricted, planted where a careless platform would echo
// them: tool arguments (logged and put on the tool span), a URL path (the request log line and the
// HTTP span) and an error body. None of them comes out; every channel shows the redaction marker instead.

const SECRET = 'acme-9f8e7d6c5b4a3921-key';
const BEARER = 'Bearer zq8Xv3Lm0Pw7Rt5Yk2Nb';
const VENDOR_KEY = 'sk-live0123456789abcdefghij';
const RESTRICTED = 'ZEBRA-7731-PAYROLL';
const planted = [SECRET, BEARER.split(' ')[1]!, VENDOR_KEY, RESTRICTED];

let p: TestPlatform;
let tracing: Tracing;
let logs: CapturedLogs;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  // What the entry points do at start-up (scripts/runtime.ts processLogger) with their environment.
  addProcessSecrets(secretEnvValues({ ACME_API_KEY: SECRET, PATH: '/usr/bin' }));
  tracing = installTracing({ exporter, serviceName: 'acp-test', batch: false });
  logs = capturingLogger('redaction');
  p = await startPlatform({ logger: logs.logger });
});
afterAll(async () => {
  await p?.stop();
  await tracing?.shutdown();
});

const leaks = (text: string) => planted.filter((s) => text.includes(s));

test('secrets and restricted context values appear in no log line, span attribute or error body', async () => {
  // A run whose context has a restricted field: from its dispatch on, that value is hidden everywhere.
  const labelled = await http(p, 'POST', '/v1/runs', {
    agent: 'docs-researcher',
    task: 'how do approvals work',
    context: { account: RESTRICTED },
    context_labels: { account: 'restricted' },
  });
  expect(labelled.status).toBe(202);
  expect((await waitForRun(p, labelled.body.run_id as string)).status).toBe('completed');

  // A run whose task (and so the docs_search arguments) carries all of them.
  const task = `approvals for ${RESTRICTED} using ${SECRET}, ${BEARER} and ${VENDOR_KEY}`;
  const leaky = await http(p, 'POST', '/v1/runs', { agent: 'docs-researcher', task });
  const runId = leaky.body.run_id as string;
  expect((await waitForRun(p, runId)).status).toBe('completed');

  // Error bodies that echo what the caller sent: an unknown agent, an unknown run.
  const unknownAgent = await http(p, 'POST', '/v1/runs', { agent: SECRET, task: 'x' });
  expect(unknownAgent.status).toBe(404);
  const unknownRun = await http(p, 'GET', `/v1/runs/run-${RESTRICTED}`);
  expect(unknownRun.status).toBeGreaterThanOrEqual(400);
  const bodies = JSON.stringify([unknownAgent.body, unknownRun.body]);
  expect(leaks(bodies)).toEqual([]);
  expect(unknownAgent.body.detail).toContain(REDACTED);

  // Spans: the tool span's arguments and the HTTP spans' paths went through redact().
  const spans = await eventually(async () => {
    const all = exporter.getFinishedSpans();
    return all.some((s) => s.name === 'RunWorkflow:agentRun' && s.attributes['acp.run_id'] === runId) ? all : undefined;
  });
  const spanText = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
  expect(leaks(spanText)).toEqual([]);
  const toolSpan = spans.find((s) => s.name === 'execute_tool docs_search' && s.attributes['acp.run_id'] === runId)!;
  expect(toolSpan.attributes['acp.tool.args']).toContain(REDACTED);
  expect(spans.some((s) => String(s.attributes['url.path']).includes(REDACTED))).toBe(true);

  // Logs: the tool call's line (with its arguments) and the request lines (with their paths).
  // Log lines reach the capture through winston's stream, not in the activity's own tick: wait for the tool's.
  const toolLine = await eventually(
    async () => logs.lines().find((l) => l.message === 'tool called' && l.run_id === runId),
    20_000,
    `the "tool called" line of ${runId} (tool lines when the wait began: ${JSON.stringify(logs.lines().filter((l) => l.message === 'tool called'))})`,
  );
  const lines = logs.lines();
  expect(leaks(JSON.stringify(lines))).toEqual([]);
  expect(toolLine.args).toContain(REDACTED);
  expect(lines.some((l) => l.message === 'request' && String(l.path).includes(REDACTED))).toBe(true);
});
