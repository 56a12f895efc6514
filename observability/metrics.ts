// Prometheus metrics of the gateway and the worker, with prom-client (the one metrics library). Each
// process builds its own registry; labels are bounded: agents, versions, tools, models, routes, effects,
// never run ids or free text (docs/observability.md lists every family).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const WAIT_SECONDS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

/** A metric family: its name, help text and label names (bounded values only); registered in one registry. */
interface Family<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

const counter = <L extends string>(registry: Registry, family: Family<L>) => new Counter<L>({ ...family, registers: [registry] });
const gauge = <L extends string>(registry: Registry, family: Family<L>) => new Gauge<L>({ ...family, registers: [registry] });
const histogram = <L extends string>(registry: Registry, family: Family<L> & { buckets: number[] }) =>
  new Histogram<L>({ ...family, registers: [registry] });

/** Policy decisions: the gateway counts run.dispatch, the worker model_call and tool_call; one family, declared once. */
function policyDecisionsCounter(registry: Registry) {
  return counter(registry, {
    name: 'acp_policy_decisions_total',
    help: 'Policy decisions, by action (run.dispatch at the gateway, model_call and tool_call in runs), effect and rule.',
    labelNames: ['action', 'effect', 'rule'],
  });
}

/** The gateway's metrics. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = counter(this.registry, {
    name: 'acp_gateway_requests_total',
    help: 'HTTP requests answered by the gateway, by route template, method and status.',
    labelNames: ['route', 'method', 'status'],
  });
  readonly requestDuration = histogram(this.registry, {
    name: 'acp_gateway_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template and method.',
    labelNames: ['route', 'method'],
    buckets: SECONDS,
  });
  readonly rateLimited = counter(this.registry, {
    name: 'acp_gateway_rate_limited_total',
    help: 'Requests refused with 429 by the rate limit or a tenant quota, by route template.',
    labelNames: ['route'],
  });
  readonly runsStarted = counter(this.registry, {
    name: 'acp_runs_started_total',
    help: 'Runs the gateway started, by agent and version.',
    labelNames: ['agent', 'version'],
  });
  readonly policyDecisions = policyDecisionsCounter(this.registry);
}

/** The worker's metrics (its runs, steps, model and tool calls). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly runsFinished = counter(this.registry, {
    name: 'acp_runs_finished_total',
    help: 'Runs that ended, by agent, version and outcome (completed, failed, cancelled, taken_over).',
    labelNames: ['agent', 'version', 'outcome'],
  });
  readonly stepDuration = histogram(this.registry, {
    name: 'acp_step_duration_seconds',
    help: 'Duration of a run step, by step type (Plan, ToolCall, HumanApproval...).',
    labelNames: ['type'],
    buckets: SECONDS,
  });
  readonly modelCalls = counter(this.registry, {
    name: 'acp_model_calls_total',
    help: 'Model calls (plan activity attempts), by agent, provider, model and outcome (ok, error).',
    labelNames: ['agent', 'provider', 'model', 'outcome'],
  });
  readonly modelTokens = counter(this.registry, {
    name: 'acp_model_tokens_total',
    help: 'Tokens of model calls, by agent, provider, model and direction (input, output).',
    labelNames: ['agent', 'provider', 'model', 'direction'],
  });
  readonly modelCost = counter(this.registry, {
    name: 'acp_model_cost_usd_total',
    help: 'Cost of model calls in US dollars (priced by config/models.ts), by agent, provider and model.',
    labelNames: ['agent', 'provider', 'model'],
  });
  readonly toolCalls = counter(this.registry, {
    name: 'acp_tool_calls_total',
    help: 'Tool call attempts, by tool and outcome (ok, error).',
    labelNames: ['tool', 'outcome'],
  });
  readonly toolErrors = counter(this.registry, {
    name: 'acp_tool_errors_total',
    help: 'Failed tool call attempts, by tool and error type (a platform error code, or Error).',
    labelNames: ['tool', 'error_type'],
  });
  readonly toolRetries = counter(this.registry, {
    name: 'acp_tool_retries_total',
    help: 'Tool call attempts after the first (Temporal retries), by tool.',
    labelNames: ['tool'],
  });
  readonly toolDuration = histogram(this.registry, {
    name: 'acp_tool_call_duration_seconds',
    help: 'Duration of a tool call attempt, by tool.',
    labelNames: ['tool'],
    buckets: SECONDS,
  });
  readonly circuitState = gauge(this.registry, {
    name: 'acp_tool_circuit_state',
    help: '1 for the current circuit-breaker state of each tool (closed, open, half_open), 0 for the others.',
    labelNames: ['tool', 'state'],
  });
  readonly approvalsPending = gauge(this.registry, {
    name: 'acp_approvals_pending',
    help: "Runs of this worker's task queue waiting for an approval, by agent (read from Temporal visibility at scrape time).",
    labelNames: ['agent'],
  });
  readonly approvalWait = histogram(this.registry, {
    name: 'acp_approval_wait_seconds',
    help: 'How long an approval waited for its decision, by agent and outcome (approved, rejected, expired, withdrawn).',
    labelNames: ['agent', 'outcome'],
    buckets: WAIT_SECONDS,
  });
  readonly policyDecisions = policyDecisionsCounter(this.registry);
  readonly budgetReservations = counter(this.registry, {
    name: 'acp_budget_reservations_total',
    help: 'Tenant budget reservations before model calls, by outcome (granted, denied).',
    labelNames: ['outcome'],
  });

  /**
   * Reads the runs awaiting an approval at scrape time, from state that outlives this process (Temporal
   * visibility), so a restart or a replay cannot skew the gauge. A failed read keeps the last values and
   * goes to `onError` (the first of a streak only).
   */
  watchApprovals(pendingByAgent: () => Promise<Map<string, number>>, onError: (err: unknown) => void): void {
    const gauge = this.approvalsPending;
    let failing = false;
    Object.assign(gauge, {
      async collect() {
        let counts: Map<string, number>;
        try {
          counts = await pendingByAgent();
        } catch (err) {
          if (!failing) onError(err);
          failing = true;
          return;
        }
        failing = false;
        gauge.reset();
        for (const [agent, n] of counts) gauge.set({ agent }, n);
      },
    });
  }

  /** Reads each tool's breaker state at scrape time. */
  watchCircuits(tools: () => string[], stateOf: (tool: string) => string): void {
    const gauge = this.circuitState;
    Object.assign(gauge, {
      collect() {
        gauge.reset();
        for (const tool of tools()) {
          const current = stateOf(tool);
          for (const state of ['closed', 'open', 'half_open']) gauge.set({ tool, state }, state === current ? 1 : 0);
        }
      },
    });
  }
}

/** Error types kept as a label: the platform's codes and a few generic names; anything else is `other`. */
export function boundedErrorType(type: string | undefined, known: readonly string[]): string {
  if (!type) return 'Error';
  return known.includes(type) || ['Error', 'TypeError', 'TimeoutError', 'AbortError'].includes(type) ? type : 'other';
}

/** Concatenates Prometheus text expositions (the platform's registry and the Temporal SDK's own). */
export async function exposition(registry: Registry, extra: (() => Promise<string>)[] = []): Promise<string> {
  const parts = [await registry.metrics()];
  for (const more of extra) parts.push(await more());
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}
