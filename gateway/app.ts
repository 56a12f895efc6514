import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import express, { type Express, type Request, type Response } from 'express';
import { ApplicationFailure } from '@temporalio/common';
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { AgentRegistry, UnknownAgentError } from '../agents/registry';
import type { ToolRegistry } from '../activities/tools/registry';
import { DecisionError } from '../contracts/errors';
import {
  ApprovalDecisionRequestSchema,
  ListRunsQuerySchema,
  RunRequestSchema,
  WorkRequestSchema,
  type RunRequest,
  TakeoverRequestSchema,
  type AgentRunInput,
  type AgentRunOutput,
  type RunState,
  type RunStatus,
} from '../contracts/run';
import { RunSearchAttributes } from '../contracts/search-attributes';
import type { Logger } from '../observability/logger';
import { canonicalJson } from '../shared/canonical';
import { checkOutputSpec, jsonSchemaProblem } from '../shared/output-spec';
import type { agentRun } from '../workflows/agent-run';
import { approvalUpdate, stateQuery, takeoverUpdate } from '../workflows/messages';
import { currentApprovers, decidersOf, mayDecide } from '../workflows/approvals';

/** The run workflow's type name, as Temporal lists it. */
const AGENT_RUN = 'agentRun';
import type { Principal } from './principal';
import { RoleAuthorizer, type Action, type Authorizer, type Resource } from './authz';
import type { RateLimiter } from './rate-limit';
import { openApiDocument } from './openapi';
import type { AuditEntry } from '../contracts/governance';
import type { GovernanceStore } from '../governance/store';
import { LABELS, type Label, type Policy } from '../contracts/policy';
import { tenantBudgetFor } from '../policies/engine';
import { nanoUsd } from '../shared/cost';
import { ReloadablePolicy } from '../policies/reloadable';
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
  /** The tools, to check an approver's edited arguments before they reach a run. */
  tools: ToolRegistry;
  /** Who is calling: API keys and JWTs (gateway/auth.ts). */
  authenticate: (req: Request) => Promise<Principal>;
  /** May the caller do it; role checks until the policy engine implements this. */
  authorizer?: Authorizer;
  /**
   * The policy: every run is started with a snapshot of the one in force at its dispatch (checked before
   * each tool and model call). A ReloadablePolicy can be reloaded (POST /v1/policy/reload, SIGHUP);
   * a plain Policy is fixed for the app's life.
   */
  policy?: Policy | ReloadablePolicy;
  environment?: string;
  /** The audit ledger (governance store); without it nothing is audited. */
  audit?: GovernanceStore;
  /** Request rate limits per principal and per tenant (token buckets). */
  rateLimits?: RateLimitSettings;
  /** Run quotas per tenant. */
  quotas?: QuotaSettings;
}

export interface RateLimitSettings {
  limiter: RateLimiter;
  principalPerMinute: number;
  tenantPerMinute: number;
}

export interface QuotaSettings {
  concurrentRuns: number;
  runsPerDay: number;
}

function principal(res: Response): Principal {
  return res.locals.principal as Principal;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** A W3C traceparent: version 00, a 32-hex trace id and a 16-hex parent id, neither all zeros, and flags. */
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The HTTP status for each reason a decision or takeover is refused. */
const DECISION_STATUS: Record<DecisionError, number> = {
  [DecisionError.ApprovalNotFound]: 404,
  [DecisionError.ApprovalNotPending]: 409,
  [DecisionError.ArgsHashMismatch]: 409,
  [DecisionError.ApproverNotAllowed]: 403,
  [DecisionError.DuplicateVote]: 409,
  [DecisionError.InvalidEdit]: 400,
  [DecisionError.RunNotActive]: 409,
};

const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * Each context field's label: the higher of what the agent's input_schema declares for it
 * (`x-classification`) and what the caller claims; unlabelled fields are internal. A claim lower than
 * the declared label is refused, so a caller cannot launder confidential data as public.
 */
function effectiveLabels(
  schema: Record<string, unknown> | undefined,
  context: Record<string, unknown>,
  claimed: Record<string, Label>,
): Record<string, Label> {
  const declaredOf = (field: string): Label | undefined => {
    const props = (schema?.properties ?? {}) as Record<string, { 'x-classification'?: Label }>;
    return props[field]?.['x-classification'];
  };
  const out: Record<string, Label> = {};
  const errors: { path: string; message: string }[] = [];
  for (const field of new Set([...Object.keys(context), ...Object.keys(claimed)])) {
    const declared = declaredOf(field);
    const claim = claimed[field];
    if (declared && claim && LABELS.indexOf(claim) < LABELS.indexOf(declared)) {
      errors.push({ path: `context_labels.${field}`, message: `claims ${claim}, but the agent declares ${field} as ${declared}` });
    }
    const candidates = [declared, claim].filter((l): l is Label => l !== undefined);
    out[field] = candidates.length ? candidates.reduce((a, b) => (LABELS.indexOf(a) >= LABELS.indexOf(b) ? a : b)) : 'internal';
  }
  if (errors.length) {
    throw new HttpProblem(
      400,
      'classification-too-low',
      'Context classification too low',
      errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      { errors },
    );
  }
  return out;
}

/** A Keyword search attribute value from a raw visibility record (JSON-encoded payload). */
function keyword(payload: { data?: Uint8Array | null } | undefined): string | undefined {
  if (!payload?.data) return undefined;
  const value: unknown = JSON.parse(Buffer.from(payload.data).toString('utf8'));
  return typeof value === 'string' ? value : undefined;
}

function tsToDate(ts: { seconds?: unknown; nanos?: number | null }): Date {
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/** A bad query string: same shape as a bad body, with the parameter as the path. */
const queryProblem = (error: z.ZodError): HttpProblem => validationProblem(error, { title: 'Query parameters are invalid' });

const TEMPORAL_STATUS: Record<RunStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
};

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
  const { client, agents, tools, taskQueue, logger } = deps;
  const newRunId = deps.newRunId ?? (() => `run-${randomUUID()}`);
  const authorizer = deps.authorizer ?? new RoleAuthorizer();
  /** The live policy, read per request (never captured at start), so a reload applies to the next request. */
  const policies = deps.policy === undefined || deps.policy instanceof ReloadablePolicy ? deps.policy : ReloadablePolicy.fixed(deps.policy);
  /** Throws a 403 problem with the reason when the caller may not do this. */
  const authorize = (res: Response, action: Action, resource?: Resource) => {
    const decision = authorizer.decide(principal(res), action, resource);
    if (!decision.allowed)
      throw new HttpProblem(403, 'forbidden', 'Forbidden', decision.reason, decision.rule ? { rule: decision.rule } : {});
  };
  const namespace = client.options.namespace;
  const uiLink = (runId: string) =>
    deps.temporalUiUrl
      ? `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(runId)}`
      : undefined;

  /** Appends an audit row for this request's principal (tenant, subject, request id). */
  const audit = async (res: Response, e: Omit<AuditEntry, 'tenant' | 'principal' | 'request_id'>): Promise<void> => {
    if (!deps.audit) return;
    const p = principal(res);
    await deps.audit.append({
      ...e,
      tenant: p.tenant,
      principal: p.subject,
      request_id: res.locals.requestId as string,
      trace_id: res.locals.traceId as string,
    });
  };

  const runLinks = (runId: string) => ({
    self: `/v1/runs/${runId}`,
    steps: `/v1/runs/${runId}/steps`,
    ...(uiLink(runId) ? { temporal_ui: uiLink(runId) } : {}),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    // The caller's trace continues here (W3C traceparent), or one starts; runs and audit rows carry its id.
    const traceId = TRACEPARENT.exec(req.get('traceparent') ?? '')?.[1] ?? randomBytes(16).toString('hex');
    res.locals.traceId = traceId;
    res.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.info('request', {
        request_id: requestId,
        trace_id: traceId,
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        latency_ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        run_id: res.locals.runId as string | undefined,
        principal: (res.locals.principal as Principal | undefined)?.subject,
      });
    });
    next();
  });

  const json = express.json({ limit: deps.bodyLimit ?? '256kb', strict: true, type: () => true });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await client.withDeadline(Date.now() + 3000, () => client.workflowService.getSystemInfo({}));
      checks.temporal = 'ok';
      const tq = await client.withDeadline(Date.now() + 3000, () =>
        client.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      );
      checks.worker = (tq.pollers?.length ?? 0) > 0 ? 'ok' : `no worker polling task queue ${taskQueue}`;
    } catch (err) {
      checks.temporal ??= `unreachable: ${err instanceof Error ? err.message : String(err)}`;
    }
    const ready = checks.temporal === 'ok' && checks.worker === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  const openapi = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  // Everything below needs a credential.
  app.use(async (req, res, next) => {
    try {
      res.locals.principal = await deps.authenticate(req);
      next();
    } catch (err) {
      if (err instanceof HttpProblem && err.status === 401) res.set('WWW-Authenticate', 'Bearer realm="agent-control-plane"');
      next(err);
    }
  });

  if (deps.rateLimits) {
    const { limiter, principalPerMinute, tenantPerMinute } = deps.rateLimits;
    app.use(async (_req, res, next) => {
      const p = principal(res);
      for (const [key, capacity, what] of [
        [`p:${p.tenant}:${p.subject}`, principalPerMinute, `${principalPerMinute} requests a minute for ${p.subject}`],
        [`t:${p.tenant}`, tenantPerMinute, `${tenantPerMinute} requests a minute for tenant ${p.tenant}`],
      ] as const) {
        const take = await limiter.take(key, capacity, 60);
        if (!take.allowed) {
          res.set('Retry-After', String(take.retryAfterSeconds));
          throw new HttpProblem(
            429,
            'rate-limited',
            'Too many requests',
            `Rate limit reached: ${what}. Retry after ${take.retryAfterSeconds} s.`,
            {
              retry_after_seconds: take.retryAfterSeconds,
            },
          );
        }
      }
      next();
    });
  }

  /** Refuses a dispatch that would exceed the tenant's run quotas (429 naming the quota). */
  const checkQuotas = async (tenant: string) => {
    if (!deps.quotas) return;
    const count = async (query: string) => Number((await client.workflowService.countWorkflowExecutions({ namespace, query })).count ?? 0);
    const base = `WorkflowType = "${AGENT_RUN}" AND Tenant = ${JSON.stringify(tenant)}`;
    const running = await count(`${base} AND ExecutionStatus = "Running"`);
    if (running >= deps.quotas.concurrentRuns) {
      throw new HttpProblem(
        429,
        'quota-exceeded',
        'Quota exceeded',
        `Quota concurrent_runs reached: tenant ${tenant} has ${running} running runs (limit ${deps.quotas.concurrentRuns}).`,
        {
          quota: 'concurrent_runs',
          limit: deps.quotas.concurrentRuns,
        },
      );
    }
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    const today = await count(`${base} AND StartTime >= "${midnight.toISOString()}"`);
    if (today >= deps.quotas.runsPerDay) {
      throw new HttpProblem(
        429,
        'quota-exceeded',
        'Quota exceeded',
        `Quota runs_per_day reached: tenant ${tenant} started ${today} runs today (UTC; limit ${deps.quotas.runsPerDay}).`,
        {
          quota: 'runs_per_day',
          limit: deps.quotas.runsPerDay,
        },
      );
    }
  };

  app.get('/v1/agents', (_req, res) => {
    res.json({ agents: agents.list() });
  });

  /** Starts a run for a validated request: the one dispatch path behind /v1/runs and /gateway/dispatch. */
  const dispatchRun = async (res: Response, body: RunRequest, idempotencyKey: string | undefined): Promise<void> => {
    let agent;
    try {
      agent = agents.resolve(body.agent);
    } catch (err) {
      if (err instanceof UnknownAgentError) {
        throw new HttpProblem(404, 'unknown-agent', 'Unknown agent', err.message, { available: err.available });
      }
      throw err;
    }
    const def = agent.definition;
    // Read in the same synchronous step as the decision below, so the run starts with the very policy
    // that allowed it even if a reload lands while this request awaits.
    const policy = policies?.current();
    try {
      authorize(res, 'run.dispatch', { agent: def.name, intent: body.task });
    } catch (err) {
      // Denied dispatches are audited too: they are exactly what an auditor asks about.
      if (err instanceof HttpProblem)
        await audit(res, {
          action: 'dispatch',
          outcome: 'denied',
          reason: err.detail,
          ...(typeof err.extensions.rule === 'string' ? { rule: err.extensions.rule } : {}),
          details: { agent: def.name, task: body.task.slice(0, 200) },
        });
      throw err;
    }
    if (body.output_spec) {
      const problem = jsonSchemaProblem(body.output_spec);
      if (problem) {
        throw new HttpProblem(400, 'validation-error', 'Request body is invalid', `output_spec: not a usable JSON Schema: ${problem}`, {
          errors: [{ path: 'output_spec', message: `not a usable JSON Schema: ${problem}` }],
        });
      }
    }
    const contextLabels = effectiveLabels(def.input_schema, body.context, body.context_labels ?? {});
    if (def.input_schema) {
      const violations = checkOutputSpec(def.input_schema, body.context);
      if (violations.length) {
        const errors = violations.map((v) => ({ path: `context${v.path === '/' ? '' : v.path.replaceAll('/', '.')}`, message: v.message }));
        throw new HttpProblem(400, 'validation-error', 'Request body is invalid', `context does not match ${def.name}'s input_schema`, {
          errors,
        });
      }
    }
    const initiator = principal(res);
    // Idempotent dispatch: the key (per tenant) decides the workflow id, so Temporal's id uniqueness
    // is the store; the request's hash in the memo tells a retry (200) from a reuse of the key (409).
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new HttpProblem(
        400,
        'invalid-idempotency-key',
        'Invalid Idempotency-Key',
        'Idempotency-Key must be 1-200 characters of A-Z a-z 0-9 . _ : -',
      );
    }
    const requestHash = sha256Hex(canonicalJson(body));
    const runId = idempotencyKey ? `run-idem-${sha256Hex(`${initiator.tenant}\n${idempotencyKey}`).slice(0, 40)}` : newRunId();
    const existing = async (): Promise<boolean> => {
      let found: WorkflowExecutionDescription;
      try {
        found = await client.workflow.getHandle(runId).describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
      if (found.memo?.request_hash !== requestHash) {
        throw new HttpProblem(
          409,
          'idempotency-key-reused',
          'Idempotency-Key reused',
          'This Idempotency-Key was used with a different request body.',
          {
            run_id: runId,
          },
        );
      }
      res.locals.runId = runId;
      res
        .status(200)
        .location(`/v1/runs/${runId}`)
        .json({
          run_id: runId,
          status: STATUS[found.status.name] ?? 'running',
          agent: { name: def.name, version: def.version },
          links: runLinks(runId),
          replayed: true,
        });
      return true;
    };
    if (idempotencyKey && (await existing())) return;
    await checkQuotas(initiator.tenant);
    const input: AgentRunInput = {
      agent,
      task: body.task,
      context: body.context,
      constraints: body.constraints,
      ...(body.output_spec ? { output_spec: body.output_spec } : {}),
      initiator: { subject: initiator.subject, tenant: initiator.tenant, roles: initiator.roles },
      requested_at: new Date().toISOString(),
      ...(policy ? { policy, environment: deps.environment ?? 'dev' } : {}),
      context_labels: contextLabels,
      trace_id: res.locals.traceId as string,
    };
    try {
      await client.workflow.start<typeof agentRun>(AGENT_RUN, {
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
        memo: { agent: def.name, agent_version: def.version, owner: def.owner, request_hash: requestHash },
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${def.name}@${def.version}: ${body.task.length > 120 ? body.task.slice(0, 117) + '...' : body.task}`,
      });
    } catch (err) {
      // Two retries with one key racing: the loser answers like a retry.
      if (idempotencyKey && err instanceof WorkflowExecutionAlreadyStartedError && (await existing())) return;
      throw err;
    }
    res.locals.runId = runId;
    await audit(res, {
      action: 'dispatch',
      outcome: 'accepted',
      reason: 'allowed by policy',
      run_id: runId,
      details: { agent: def.name, version: def.version },
    });
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
        links: runLinks(runId),
      });
  };

  app.post('/v1/runs', requireJson, json, async (req, res) => {
    const parsed = RunRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    await dispatchRun(res, parsed.data, req.get('idempotency-key'));
  });

  // The founding blueprint's endpoint, kept as an alias of POST /v1/runs. The agent is payload.agent,
  // else the first agent whose `intents` include a word of the intent; task_id is the idempotency key,
  // so a retried WorkRequest never starts a second run.
  app.post('/gateway/dispatch', requireJson, json, async (req, res) => {
    const parsed = WorkRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const { task_id, intent, payload } = parsed.data;
    const words = new Set(intent.toLowerCase().match(/[a-z0-9_-]+/g) ?? []);
    const agent =
      typeof payload.agent === 'string'
        ? payload.agent
        : agents.list().find((a) => agents.resolve(a.name).definition.intents.some((i) => words.has(i)))?.name;
    if (!agent) {
      throw new HttpProblem(404, 'unknown-agent', 'No agent for this intent', `No agent handles the intent ${JSON.stringify(intent)}.`, {
        available: agents.list().map((a) => ({ name: a.name, intents: agents.resolve(a.name).definition.intents })),
      });
    }
    const run = RunRequestSchema.safeParse({
      agent,
      task: typeof payload.task === 'string' ? payload.task : intent,
      context: payload.context ?? {},
      ...(payload.constraints !== undefined ? { constraints: payload.constraints } : {}),
      ...(payload.output_spec !== undefined ? { output_spec: payload.output_spec } : {}),
    });
    if (!run.success) throw validationProblem(run.error, { prefix: 'payload' });
    await dispatchRun(res, run.data, task_id);
  });

  const notFound = (runId: string) => new HttpProblem(404, 'run-not-found', 'Run not found', `No run with id ${JSON.stringify(runId)}.`);

  /** Describes a run the caller may see; another tenant's run is a 404, exactly like a missing one. */
  const visibleRun = async (runId: string, res: Response) => {
    if (!RUN_ID.test(runId)) throw notFound(runId);
    res.locals.runId = runId;
    const handle = client.workflow.getHandle(runId);
    let desc: WorkflowExecutionDescription;
    try {
      desc = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(runId);
      throw err;
    }
    if (desc.type !== AGENT_RUN || desc.typedSearchAttributes.get(RunSearchAttributes.tenant) !== principal(res).tenant)
      throw notFound(runId);
    return { handle, desc };
  };

  /**
   * The output of a closed run: its result, or for a failed run the partial output the workflow put in
   * the failure's details, with the error.
   */
  const closedOutput = async (
    handle: ReturnType<Client['workflow']['getHandle']>,
  ): Promise<{ out?: AgentRunOutput; error?: { type: string; message: string } }> => {
    try {
      return { out: (await handle.result()) as AgentRunOutput };
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure) {
        const out = cause.details?.[0] as AgentRunOutput | undefined;
        return { ...(out ? { out } : {}), error: { type: cause.type ?? 'ApplicationFailure', message: cause.message } };
      }
      return { error: { type: cause?.name ?? 'Error', message: cause?.message ?? String(err) } };
    }
  };

  const queryState = (handle: ReturnType<Client['workflow']['getHandle']>): Promise<RunState> =>
    client.withDeadline(Date.now() + (deps.queryTimeoutMs ?? 5000), () => handle.query(stateQuery));

  /** Turns a refused update (validator) or an update on a closed run into a definite HTTP answer. */
  const updateProblem = (err: unknown, runId: string): HttpProblem | undefined => {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const status = DECISION_STATUS[err.cause.type as DecisionError];
      if (status) return new HttpProblem(status, kebab(err.cause.type!), err.cause.type!, err.cause.message);
    }
    if (err instanceof WorkflowNotFoundError) {
      return new HttpProblem(409, 'run-not-active', 'Run not active', `Run ${runId} has ended; it takes no more decisions.`);
    }
    return undefined;
  };

  app.get('/v1/runs', async (req, res) => {
    const parsed = ListRunsQuerySchema.safeParse(req.query);
    if (!parsed.success) throw queryProblem(parsed.error);
    const q = parsed.data;
    const clauses = [`WorkflowType = "${AGENT_RUN}"`, `Tenant = ${JSON.stringify(principal(res).tenant)}`];
    if (q.agent) clauses.push(`AgentName = ${JSON.stringify(q.agent)}`);
    if (q.version) clauses.push(`AgentVersion = ${JSON.stringify(q.version)}`);
    if (q.state) clauses.push(`RunState = ${JSON.stringify(q.state)}`);
    if (q.initiator) clauses.push(`Initiator = ${JSON.stringify(q.initiator)}`);
    if (q.status) clauses.push(`ExecutionStatus = ${JSON.stringify(TEMPORAL_STATUS[q.status])}`);
    if (q.awaiting_approval === 'true') clauses.push('RunState = "HumanApproval" AND ExecutionStatus = "Running"');
    if (q.awaiting_approval === 'false') clauses.push('RunState != "HumanApproval"');
    if (q.started_after) clauses.push(`StartTime >= ${JSON.stringify(new Date(q.started_after).toISOString())}`);
    if (q.started_before) clauses.push(`StartTime < ${JSON.stringify(new Date(q.started_before).toISOString())}`);
    let page;
    try {
      page = await client.workflowService.listWorkflowExecutions({
        namespace,
        query: clauses.join(' AND '),
        pageSize: q.page_size,
        nextPageToken: q.page_token ? Buffer.from(q.page_token, 'base64url') : undefined,
      });
    } catch (err) {
      if (q.page_token && (err as { code?: number }).code === 3) {
        throw new HttpProblem(400, 'invalid-page-token', 'Invalid page_token', 'page_token is not one this API returned for this query.');
      }
      throw err;
    }
    const runs = (page.executions ?? []).map((e) => {
      const id = e.execution?.workflowId ?? '';
      const sa = e.searchAttributes?.indexedFields ?? {};
      return {
        run_id: id,
        agent: { name: keyword(sa.AgentName), version: keyword(sa.AgentVersion) },
        status:
          STATUS[temporal.api.enums.v1.WorkflowExecutionStatus[e.status ?? 0]?.replace('WORKFLOW_EXECUTION_STATUS_', '') ?? ''] ??
          'running',
        state: keyword(sa.RunState),
        initiator: keyword(sa.Initiator),
        started_at: e.startTime ? tsToDate(e.startTime).toISOString() : undefined,
        closed_at: e.closeTime ? tsToDate(e.closeTime).toISOString() : undefined,
        links: runLinks(id),
      };
    });
    const next = page.nextPageToken?.length ? Buffer.from(page.nextPageToken).toString('base64url') : undefined;
    res.json({ runs, next_page_token: next });
  });

  app.get('/v1/runs/:id/steps', async (req, res) => {
    const runId = String(req.params.id);
    const { handle, desc } = await visibleRun(runId, res);
    if (desc.status.name === 'COMPLETED' || desc.status.name === 'FAILED') {
      res.json({ run_id: runId, steps: (await closedOutput(handle)).out?.steps ?? [] });
      return;
    }
    if (Number(desc.historyLength) <= 2) {
      res.json({ run_id: runId, steps: [] });
      return;
    }
    try {
      const state = await queryState(handle);
      res.json({ run_id: runId, steps: state.steps });
    } catch {
      res.json({ run_id: runId, steps: [], warnings: ['no worker answered the state query; is a worker polling the task queue?'] });
    }
  });

  const AuditQuerySchema = z
    .object({
      run_id: z.string().regex(RUN_ID).optional(),
      principal: z
        .string()
        .regex(/^[A-Za-z0-9._@:-]{1,128}$/)
        .optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    })
    .strict();

  app.get('/v1/audit', async (req, res) => {
    authorize(res, 'audit.read');
    const q = AuditQuerySchema.safeParse(req.query);
    if (!q.success) throw queryProblem(q.error);
    if (!deps.audit) throw new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no audit ledger configured.');
    res.json({ entries: await deps.audit.list({ ...q.data, tenant: principal(res).tenant }) });
  });

  const BudgetQuerySchema = z.object({ day: z.iso.date().optional() }).strict();

  // The caller's tenant's model spend for a UTC day (today by default) against the policy's limit.
  app.get('/v1/budget', async (req, res) => {
    authorize(res, 'budget.read');
    const q = BudgetQuerySchema.safeParse(req.query);
    if (!q.success) throw queryProblem(q.error);
    if (!deps.audit) throw new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no governance store configured.');
    const tenant = principal(res).tenant;
    const day = await deps.audit.budgetDay(tenant, q.data.day ?? new Date().toISOString().slice(0, 10));
    const limit = tenantBudgetFor(policies?.current(), tenant) ?? null;
    const remaining = limit?.daily_cost_usd === undefined ? null : Math.max(0, nanoUsd(limit.daily_cost_usd - day.committed_usd));
    res.json({ ...day, limit, remaining_usd: remaining });
  });

  const noPolicy = () => new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no policy configured.');

  app.get('/v1/policy', (_req, res) => {
    authorize(res, 'policy.read');
    if (!policies) throw noPolicy();
    res.json(policies.status());
  });

  // Re-reads the policies folder. Runs already started keep the snapshot in their input; new dispatches
  // are decided by, and new runs started with, the new policy. A bad file changes nothing (422).
  app.post('/v1/policy/reload', async (_req, res) => {
    authorize(res, 'policy.reload');
    if (!policies) throw noPolicy();
    if (!policies.reloadable)
      throw new HttpProblem(404, 'not-found', 'Not found', 'This gateway was given its policy at start; it has no folder to reload from.');
    const outcome = policies.reload();
    if (!outcome.reloaded) {
      const detail = `${outcome.error}. The previous policy (${outcome.hash}) stays in force.`;
      await audit(res, {
        action: 'policy.reload',
        outcome: 'refused',
        reason: detail,
        details: { hash: outcome.hash, previous_hash: outcome.hash },
      });
      logger.warn('policy reload refused', { by: principal(res).subject, error: outcome.error, hash: outcome.hash });
      throw new HttpProblem(422, 'policy-invalid', 'Policy not reloaded', detail, { hash: outcome.hash, loaded_at: outcome.loaded_at });
    }
    const { hash, previous_hash, loaded_at, files } = outcome;
    await audit(res, {
      action: 'policy.reload',
      outcome: 'accepted',
      reason: hash === previous_hash ? 'policy reloaded, unchanged' : `policy reloaded from ${files.join(', ')}`,
      details: { hash, previous_hash, files },
    });
    logger.info('policy reloaded', { by: principal(res).subject, hash, previous_hash, files });
    res.json({ hash, previous_hash, loaded_at, files });
  });

  app.get('/v1/runs/:id/audit', async (req, res) => {
    authorize(res, 'audit.read');
    await visibleRun(String(req.params.id), res);
    if (!deps.audit) throw new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no audit ledger configured.');
    res.json({ entries: await deps.audit.list({ tenant: principal(res).tenant, run_id: String(req.params.id) }) });
  });

  app.get('/v1/runs/:id', async (req, res) => {
    const runId = String(req.params.id);
    const { handle, desc } = await visibleRun(runId, res);
    const status = STATUS[desc.status.name] ?? 'running';
    const base = {
      run_id: runId,
      agent: {
        name: desc.typedSearchAttributes.get(RunSearchAttributes.agentName),
        version: desc.typedSearchAttributes.get(RunSearchAttributes.agentVersion),
      },
      status,
      state: desc.typedSearchAttributes.get(RunSearchAttributes.runState),
      initiator: desc.typedSearchAttributes.get(RunSearchAttributes.initiator),
      started_at: desc.startTime.toISOString(),
      closed_at: desc.closeTime?.toISOString(),
      links: runLinks(runId),
    };

    if (desc.status.name === 'RUNNING' || desc.status.name === 'CANCELLED') {
      // Until a worker has completed the first workflow task (history beyond Started and
      // WorkflowTaskScheduled) there is no state to query, and a query would wait for a worker.
      if (desc.status.name === 'RUNNING' && Number(desc.historyLength) <= 2) {
        res.json({
          ...base,
          steps: [],
          approvals: [],
          warnings: ['waiting for a worker to pick up the run; is a worker polling the task queue?'],
        });
        return;
      }
      try {
        const state = await queryState(handle);
        const closed = desc.status.name === 'CANCELLED';
        res.json({
          ...base,
          state: state.current,
          steps: state.steps,
          usage: state.usage,
          approvals: state.approvals,
          ...(closed
            ? { output: state.output, error: { type: 'Cancelled', message: 'cancelled through the API' } }
            : { partial_output: state.output }),
        });
      } catch {
        res.json({
          ...base,
          steps: [],
          approvals: [],
          warnings: ['no worker answered the state query; is a worker polling the task queue?'],
        });
      }
      return;
    }

    const { out, error } = await closedOutput(handle);
    res.json({
      ...base,
      steps: out?.steps ?? [],
      usage: out?.usage,
      approvals: out?.approvals ?? [],
      output: out
        ? {
            result: out.result,
            evidence: out.evidence,
            actions_taken: out.actions_taken,
            warnings: out.warnings,
            completed_by: out.completed_by,
          }
        : undefined,
      error: error ?? out?.error,
    });
  });

  app.post('/v1/runs/:id/cancel', async (req, res) => {
    const { handle, desc } = await visibleRun(String(req.params.id), res);
    authorize(res, 'run.cancel', { initiator: desc.typedSearchAttributes.get(RunSearchAttributes.initiator) });
    if (desc.status.name !== 'RUNNING') {
      throw new HttpProblem(
        409,
        'run-not-active',
        'Run not active',
        `Run ${String(req.params.id)} is already ${STATUS[desc.status.name] ?? desc.status.name}.`,
      );
    }
    await handle.cancel();
    await audit(res, { action: 'run.cancel', outcome: 'requested', reason: 'cancelled through the API', run_id: String(req.params.id) });
    logger.info('run cancel requested', { run_id: String(req.params.id), by: principal(res).subject });
    res.status(202).json({ run_id: String(req.params.id), status: 'cancelling', links: { self: `/v1/runs/${String(req.params.id)}` } });
  });

  app.post('/v1/runs/:id/takeover', requireJson, json, async (req, res) => {
    const parsed = TakeoverRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const { handle } = await visibleRun(String(req.params.id), res);
    authorize(res, 'run.takeover');
    const who = principal(res);
    try {
      const output = await handle.executeUpdate(takeoverUpdate, {
        args: [{ ...parsed.data, operator: { subject: who.subject, roles: who.roles } }],
      });
      await audit(res, { action: 'run.takeover', outcome: 'completed', reason: parsed.data.reason, run_id: String(req.params.id) });
      logger.info('run taken over', { run_id: String(req.params.id), by: who.subject });
      res.json({ run_id: String(req.params.id), status: 'completed', output });
    } catch (err) {
      throw updateProblem(err, String(req.params.id)) ?? err;
    }
  });

  app.get('/v1/approvals', async (_req, res) => {
    const who = principal(res);
    const keys = [...who.roles.map((r) => `role:${r}`), `subject:${who.subject}`];
    const query = `PendingApprovers IN (${keys.map((k) => JSON.stringify(k)).join(', ')}) AND Tenant = ${JSON.stringify(who.tenant)} AND ExecutionStatus = "Running"`;
    const pending: Record<string, unknown>[] = [];
    let seen = 0;
    for await (const wf of client.workflow.list({ query, pageSize: 50 })) {
      if (++seen > 100) break;
      let state: RunState;
      try {
        state = await queryState(client.workflow.getHandle(wf.workflowId));
      } catch {
        continue; // closed or unreachable since the listing; it will not take a decision anyway
      }
      for (const a of state.approvals) {
        // Votes count from the last edit on (an edit resets earlier approvals), as the run counts them.
        const may = mayDecide(who, decidersOf(a));
        const voted = currentApprovers(a).has(who.subject);
        if (a.status === 'pending' && may && !voted) {
          pending.push({
            run_id: wf.workflowId,
            agent: state.agent,
            ...a,
            links: { decide: `/v1/runs/${wf.workflowId}/approvals/${a.id}` },
          });
        }
      }
    }
    res.json({ approvals: pending });
  });

  app.post('/v1/runs/:id/approvals/:approvalId', requireJson, json, async (req, res) => {
    const parsed = ApprovalDecisionRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const { handle } = await visibleRun(String(req.params.id), res);
    const who = principal(res);
    if (parsed.data.edited_args) {
      // Edited arguments must be valid for the tool before they reach the run.
      const state = await queryState(handle);
      const approval = state.approvals.find((a) => a.id === String(req.params.approvalId));
      const tool = approval?.tool ? tools.get(approval.tool) : undefined;
      if (tool) {
        const checked = tool.input.safeParse(parsed.data.edited_args);
        if (!checked.success)
          throw validationProblem(checked.error, { prefix: 'edited_args', title: `edited_args are invalid for ${tool.name}` });
      }
    }
    try {
      const result = await handle.executeUpdate(approvalUpdate, {
        args: [{ ...parsed.data, approval_id: String(req.params.approvalId), approver: { subject: who.subject, roles: who.roles } }],
      });
      await audit(res, {
        action: 'approval.decide',
        outcome: parsed.data.decision,
        reason: parsed.data.comment ?? parsed.data.decision,
        run_id: String(req.params.id),
        details: { approval_id: String(req.params.approvalId), status: result.status, edited: Boolean(parsed.data.edited_args) },
      });
      logger.info('approval decision', {
        run_id: String(req.params.id),
        approval_id: String(req.params.approvalId),
        by: who.subject,
        decision: parsed.data.decision,
      });
      res.json({ run_id: String(req.params.id), ...result });
    } catch (err) {
      const problem = updateProblem(err, String(req.params.id));
      if (problem) {
        await audit(res, {
          action: 'approval.decide',
          outcome: 'refused',
          reason: problem.detail,
          run_id: String(req.params.id),
          details: { approval_id: String(req.params.approvalId) },
        });
      }
      throw problem ?? err;
    }
  });

  app.use(notFoundHandler);
  app.use(problemHandler((err) => logger.error('unhandled error', { error: err instanceof Error ? err.message : String(err) })));
  return app;
}
