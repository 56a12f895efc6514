import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { PROJECT_ROOT } from '../../config/settings';
import { RunRequestSchema, WorkRequestSchema } from '../../contracts/run';
import { RunSearchAttributes } from '../../contracts/run-search-attributes';
import { agentForIntent, runRequestFor } from '../../gateway/intents';
import { problemHandler } from '../../gateway/middleware/errors';
import { HttpProblem } from '../../gateway/problem';
import { jsonRequest, RouteTable } from '../../gateway/routes/declare';
import { createLogger } from '../../observability/logger';
import { agentRunInput, agentRunStartOptions } from '../../shared/run-start';
import { thrown } from '../support/thrown';

// The gateway's pure parts, without Temporal: the route declaration as the one parse of a request,
// the blueprint's intent routing, and the run start the gateway and the eval harness share.

const agents = AgentRegistry.load(
  path.join(PROJECT_ROOT, 'agents'),
  createToolRegistry({ docsDir: path.join(PROJECT_ROOT, 'docs'), ticketsFile: path.join(os.tmpdir(), 'acp-edge-unused-tickets.jsonl') }),
);

describe('a declared route parses its own request', () => {
  const seen: unknown[] = [];
  let base: string;
  let close: () => void;
  beforeAll(async () => {
    const table = new RouteTable();
    const router = Router();
    table.route(
      router,
      {
        method: 'post',
        path: '/things/{id}',
        request: {
          params: z.object({ id: z.string().regex(/^t-/, 'must start with t-') }),
          query: z.object({ limit: z.coerce.number().int().positive().default(10) }).strict(),
          body: jsonRequest(z.object({ name: z.string(), count: z.number().default(1) }).strict()),
        },
        responses: {},
      },
      (input, res) => {
        seen.push(input);
        res.json({ id: input.params.id, limit: input.query.limit, name: input.body.name, count: input.body.count });
      },
      [express.json()],
    );
    const app = express()
      .set('query parser', 'simple')
      .use(router)
      .use(problemHandler(createLogger({ level: 'error', format: 'json' })));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());
  beforeEach(() => (seen.length = 0));

  const post = async (url: string, body: unknown) => {
    const res = await fetch(base + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
  };

  test('the handler gets the parsed values: defaults applied, coerced, an empty query value absent', async () => {
    expect(await post('/things/t-1?limit=', { name: 'a' })).toMatchObject({
      status: 200,
      body: { id: 't-1', limit: 10, name: 'a', count: 1 },
    });
    expect((await post('/things/t-2?limit=3', { name: 'b', count: 2 })).body).toEqual({ id: 't-2', limit: 3, name: 'b', count: 2 });
  });

  test.each([
    ['/things/t-1', { name: 'a', extra: true }, 'Request body is invalid', '(body)', 'unknown field(s): extra'],
    ['/things/t-1', { name: 7 }, 'Request body is invalid', 'name', ''],
    ['/things/t-1?limit=-1', { name: 'a' }, 'Query parameters are invalid', 'limit', ''],
    ['/things/x-1', { name: 'a' }, 'Path parameters are invalid', 'id', 'must start with t-'],
  ])('%s %j is a 400 problem naming what was wrong, and the handler never runs', async (url, body, title, field, message) => {
    const res = await post(url, body);
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: 'urn:agent-control-plane:problem:validation-error', title });
    const errors = res.body.errors as { path: string; message: string }[];
    expect(errors).toContainEqual(expect.objectContaining({ path: field, ...(message ? { message } : {}) }));
    expect(seen).toEqual([]);
  });
});

describe('a WorkRequest goes to an agent by its intent', () => {
  const work = (intent: string, payload: Record<string, unknown> = {}) => WorkRequestSchema.parse({ task_id: 't-1', intent, payload });

  test('the first agent with a word of the intent among its intents; payload.agent wins over it', () => {
    expect(agentForIntent(agents, work('Please RESEARCH the retry policy'))).toBe('docs-researcher');
    expect(agentForIntent(agents, work('file a ticket for this outage'))).toBe('ticket-filer');
    expect(agentForIntent(agents, work('research', { agent: 'ticket-filer' }))).toBe('ticket-filer');
  });

  test('no agent for the intent is a 404 listing each agent with its intents', () => {
    const err = thrown(() => agentForIntent(agents, work('bake a cake')));
    expect(err).toBeInstanceOf(HttpProblem);
    expect(err).toMatchObject({ status: 404, slug: 'unknown-agent' });
    expect((err as HttpProblem).extensions.available).toContainEqual({
      name: 'docs-researcher',
      intents: ['question', 'research', 'docs', 'documentation'],
    });
  });

  test('the payload becomes the RunRequest (task defaults to the intent); its faults are named under payload', () => {
    expect(runRequestFor(agents, work('research retries', { context: { q: 1 } }))).toEqual(
      RunRequestSchema.parse({ agent: 'docs-researcher', task: 'research retries', context: { q: 1 } }),
    );
    const err = thrown(() => runRequestFor(agents, work('research', { constraints: { max_steps: 'many' } })));
    expect(err).toMatchObject({ status: 400, slug: 'validation-error' });
    expect((err as HttpProblem).extensions.errors).toContainEqual(expect.objectContaining({ path: 'payload.constraints.max_steps' }));
  });
});

describe('the run start shared by the gateway and the eval harness', () => {
  const agent = agents.resolve('docs-researcher');
  const initiator = { subject: 'ann', tenant: 'acme', roles: ['dispatcher'] };
  const ask = { task: 'what is a run?', context: {}, constraints: {} };

  test('the input carries what the run needs, and no keys for what the request left out', () => {
    const input = agentRunInput(agent, ask, { initiator, requestedAt: '2026-01-01T00:00:00.000Z', contextLabels: {} });
    expect(input).toEqual({ agent, ...ask, initiator, requested_at: '2026-01-01T00:00:00.000Z', context_labels: {} });
    const policy = { rules: [] } as never;
    const governed = agentRunInput(
      agent,
      { ...ask, output_spec: { type: 'object' } },
      { initiator, requestedAt: 'now', contextLabels: { q: 'internal' }, policy: { policy, environment: 'prod' }, traceId: 'abc' },
    );
    expect(governed).toMatchObject({
      output_spec: { type: 'object' },
      policy,
      environment: 'prod',
      trace_id: 'abc',
      context_labels: { q: 'internal' },
    });
  });

  test('the start options: the run id, the search attributes every run starts with, the memo with extras', () => {
    const input = agentRunInput(agent, ask, { initiator, requestedAt: 'now', contextLabels: {} });
    const options = agentRunStartOptions(input, { workflowId: 'run-1', taskQueue: 'q', summary: 's', memo: { request_hash: 'h' } });
    expect(options).toMatchObject({ workflowId: 'run-1', taskQueue: 'q', args: [input], staticSummary: 's' });
    expect(options.memo).toEqual({ agent: 'docs-researcher', agent_version: '1.0.0', owner: 'platform-team', request_hash: 'h' });
    const attributes = Object.fromEntries(
      (options.typedSearchAttributes as { key: { name: string }; value: unknown }[]).map((a) => [a.key.name, a.value]),
    );
    expect(attributes).toEqual({
      [RunSearchAttributes.agentName.name]: 'docs-researcher',
      [RunSearchAttributes.agentVersion.name]: '1.0.0',
      [RunSearchAttributes.tenant.name]: 'acme',
      [RunSearchAttributes.initiator.name]: 'ann',
      [RunSearchAttributes.runState.name]: 'Plan',
    });
  });
});
