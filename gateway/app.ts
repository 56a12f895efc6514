import { randomUUID } from 'node:crypto';
import express, { type Express, type Request } from 'express';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { AgentRegistry, UnknownAgentError } from '../agents/registry';
import { RunRequestSchema, type AgentRunInput, type AgentRunOutput, type Initiator, type RunState, type RunStatus } from '../contracts/run';
import { RunSearchAttributes } from '../contracts/search-attributes';
import type { Logger } from '../observability/logger';
import { agentRun, stateQuery } from '../workflows';
import { HttpProblem, notFoundHandler, problemHandler, requireJson, validationProblem } from './problem';

export interface GatewayDeps {
  client: Client;
  agents: AgentRegistry;
  taskQueue: string;
  logger: Logger;
  /** Base URL of the Temporal Web UI, for links to runs; omitted when there is none. */
  temporalUiUrl?: string;
  /** Makes run ids; tests may fix it. */
  newRunId?: () => string;
  /** Body size limit for JSON requests. */
  bodyLimit?: string;
  /** How long GET /v1/runs/{id} waits for a running run's state query. */
  queryTimeoutMs?: number;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The caller of a request. Authentication lands with the gateway-security issue (#4); until then every
 * request is the anonymous principal of the default tenant, and that is what runs record as initiator.
 */
function principalOf(_req: Request): Initiator {
  void _req;
  return { subject: 'anonymous', tenant: 'default' };
}

const STATUS: Record<string, RunStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'running',
};

/** Builds the gateway's Express app. It does not listen; the entry point (or a test) does. */
export function createApp(deps: GatewayDeps): Express {
  const { client, agents, taskQueue, logger } = deps;
  const newRunId = deps.newRunId ?? (() => `run-${randomUUID()}`);
  const namespace = client.options.namespace;
  const uiLink = (runId: string) =>
    deps.temporalUiUrl
      ? `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runId)}`
      : undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.info('request', {
        request_id: requestId,
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        latency_ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        run_id: res.locals.runId as string | undefined,
        principal: principalOf(req).subject,
      });
    });
    next();
  });

  const json = express.json({ limit: deps.bodyLimit ?? '256kb', strict: true, type: () => true });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/v1/agents', (_req, res) => {
    res.json({ agents: agents.list() });
  });

  app.post('/v1/runs', requireJson, json, async (req, res) => {
    const parsed = RunRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const body = parsed.data;
    let agent;
    try {
      agent = agents.resolve(body.agent);
    } catch (err) {
      if (err instanceof UnknownAgentError) {
        throw new HttpProblem(404, 'unknown-agent', 'Unknown agent', err.message, { available: err.available });
      }
      throw err;
    }
    const initiator = principalOf(req);
    const runId = newRunId();
    const def = agent.definition;
    const input: AgentRunInput = {
      agent,
      task: body.task,
      context: body.context,
      constraints: body.constraints,
      ...(body.output_spec ? { output_spec: body.output_spec } : {}),
      initiator,
      requested_at: new Date().toISOString(),
    };
    await client.workflow.start(agentRun, {
      taskQueue,
      workflowId: runId,
      args: [input],
      typedSearchAttributes: [
        { key: RunSearchAttributes.agentName, value: def.name },
        { key: RunSearchAttributes.agentVersion, value: def.version },
        { key: RunSearchAttributes.tenant, value: initiator.tenant },
        { key: RunSearchAttributes.initiator, value: initiator.subject },
        { key: RunSearchAttributes.runState, value: 'Plan' },
      ],
      memo: { agent: def.name, agent_version: def.version, owner: def.owner },
      staticSummary: `${def.name}@${def.version}: ${body.task.length > 120 ? body.task.slice(0, 117) + '...' : body.task}`,
    });
    res.locals.runId = runId;
    logger.info('run dispatched', {
      run_id: runId,
      agent: def.name,
      agent_version: def.version,
      initiator: initiator.subject,
      tenant: initiator.tenant,
    });
    res
      .status(202)
      .location(`/v1/runs/${runId}`)
      .json({
        run_id: runId,
        status: 'running',
        agent: { name: def.name, version: def.version },
        links: { self: `/v1/runs/${runId}`, ...(uiLink(runId) ? { temporal_ui: uiLink(runId) } : {}) },
      });
  });

  app.get('/v1/runs/:id', async (req, res) => {
    const runId = req.params.id;
    if (!RUN_ID.test(runId)) throw new HttpProblem(404, 'run-not-found', 'Run not found', `No run with id ${JSON.stringify(runId)}.`);
    res.locals.runId = runId;
    const handle = client.workflow.getHandle(runId);
    let desc: WorkflowExecutionDescription;
    try {
      desc = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpProblem(404, 'run-not-found', 'Run not found', `No run with id ${runId}.`);
      throw err;
    }
    if (desc.type !== agentRun.name) throw new HttpProblem(404, 'run-not-found', 'Run not found', `No run with id ${runId}.`);
    const status = STATUS[desc.status.name] ?? 'running';
    const base = {
      run_id: runId,
      agent: {
        name: desc.typedSearchAttributes.get(RunSearchAttributes.agentName),
        version: desc.typedSearchAttributes.get(RunSearchAttributes.agentVersion),
      },
      status,
      state: desc.typedSearchAttributes.get(RunSearchAttributes.runState),
      started_at: desc.startTime.toISOString(),
      closed_at: desc.closeTime?.toISOString(),
      links: { self: `/v1/runs/${runId}`, ...(uiLink(runId) ? { temporal_ui: uiLink(runId) } : {}) },
    };

    if (desc.status.name === 'RUNNING') {
      // Until a worker has completed the first workflow task (history beyond Started and
      // WorkflowTaskScheduled) there is no state to query, and a query would wait for a worker.
      if (Number(desc.historyLength) <= 2) {
        res.json({ ...base, steps: [], warnings: ['waiting for a worker to pick up the run; is a worker polling the task queue?'] });
        return;
      }
      try {
        const state: RunState = await client.withDeadline(Date.now() + (deps.queryTimeoutMs ?? 5000), () => handle.query(stateQuery));
        res.json({ ...base, state: state.current, steps: state.steps, usage: state.usage });
      } catch {
        res.json({ ...base, steps: [], warnings: ['no worker answered the state query yet; is a worker polling the task queue?'] });
      }
      return;
    }

    let out: AgentRunOutput | undefined;
    let error: { type: string; message: string } | undefined;
    try {
      out = (await handle.result()) as AgentRunOutput;
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure) {
        out = cause.details?.[0] as AgentRunOutput | undefined;
        error = { type: cause.type ?? 'ApplicationFailure', message: cause.message };
      } else {
        error = { type: cause?.name ?? 'Error', message: cause?.message ?? String(err) };
      }
    }
    res.json({
      ...base,
      steps: out?.steps ?? [],
      usage: out?.usage,
      output: out ? { result: out.result, evidence: out.evidence, actions_taken: out.actions_taken, warnings: out.warnings } : undefined,
      error: error ?? out?.error,
    });
  });

  app.use(notFoundHandler);
  app.use(problemHandler((err) => logger.error('unhandled error', { error: err instanceof Error ? err.message : String(err) })));
  return app;
}
