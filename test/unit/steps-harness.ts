// A run context for step unit tests: the real RunContext and ledger over fake services (plain objects
// that record what the step asked of them), so a step handler runs alone, without a Temporal server.
import type { ActivityOptions } from '@temporalio/workflow';
import { AgentDefinitionSchema, type ResolvedAgent } from '../../contracts/agent';
import type { Reservation } from '../../contracts/governance';
import type { AgentRunInput, PlanRequest, PlanResult, ToolCallRequest, ToolCallResult } from '../../contracts/run';
import type { Interrupt } from '../../workflows/events';
import type { RunInterrupts } from '../../workflows/interrupts';
import type { RunAuditEntry } from '../../workflows/run-governance';
import { RunContext } from '../../workflows/run-context';
import type { RunServices, StepActivities } from '../../workflows/services';

/** Interrupts without cancellation scopes: a step's work is interrupted when an interrupt is set while it runs. */
export class FakeInterrupts implements RunInterrupts {
  current: Interrupt | undefined;
  takeover: RunInterrupts['takeover'];
  deadlineMs: number | undefined;
  private inWork = false;
  private cutShort = false;
  async inStep<T>(work: () => Promise<T>): Promise<T> {
    this.inWork = true;
    this.cutShort = false;
    try {
      return await work();
    } finally {
      this.inWork = false;
    }
  }
  interrupted(): boolean {
    if (!this.cutShort) return false;
    this.current ??= { type: 'cancelled', detail: 'cancelled through the API' };
    return true;
  }
  interruptWith(type: Interrupt['type'], detail: string): void {
    this.current ??= { type, detail };
    if (this.inWork) this.cutShort = true;
  }
  armDeadline(ms: number): void {
    this.deadlineMs = ms;
  }
}

/** A definition with the schema's defaults, for agent "helper" on a priced OpenAI model. */
export function definition(over: Record<string, unknown> = {}) {
  return AgentDefinitionSchema.parse({
    name: 'helper',
    version: '1.0.0',
    owner: 'team',
    description: 'helps',
    model: { provider: 'openai', name: 'gpt-main', pricing: { input_per_1k: 0.01, output_per_1k: 0.03 } },
    instructions: 'Help.',
    tools: ['lookup', 'ticket_create'],
    ...over,
  });
}

export const TOOLS: ResolvedAgent['tools'] = {
  lookup: { name: 'lookup', side_effect: 'read', timeout_ms: 1000, max_attempts: 1 },
  ticket_create: { name: 'ticket_create', side_effect: 'write', timeout_ms: 2000, max_attempts: 2 },
};

/** What a step asked of its services, in order. */
/** The run's input: agent "helper" with the given definition fields, then the given input fields. */
export function runInput(o: Pick<FakeRunOptions, 'def' | 'input'>): AgentRunInput {
  return {
    agent: { definition: definition(o.def), tools: TOOLS },
    task: 'find the answer',
    context: { ticket: 'T-1' },
    constraints: {},
    initiator: { subject: 'alice', tenant: 'acme', roles: ['dispatcher'] },
    requested_at: new Date().toISOString(),
    ...o.input,
  };
}

export interface Recorded {
  audits: RunAuditEntry[];
  accepted: RunAuditEntry[];
  settles: [number, number, number][];
  reserves: number[];
  options: ActivityOptions[];
  plans: PlanRequest[];
  tools: ToolCallRequest[];
  attributes: unknown[];
  patches: string[];
  denied: string[];
  timeouts: number[];
}

export interface FakeRunOptions {
  def?: Record<string, unknown>;
  input?: Partial<AgentRunInput>;
  plan?: (req: PlanRequest) => Promise<PlanResult>;
  callTool?: (req: ToolCallRequest) => Promise<ToolCallResult>;
  reserve?: () => Promise<Reservation>;
  /** What the approvers do while the step waits (else the wait times out). */
  decide?: (ctx: RunContext) => void;
  patched?: boolean;
  budgetsBeforeCall?: boolean;
}

/** A run context over fake services, and what the step asked of them. */
export function fakeRun(o: FakeRunOptions = {}): { ctx: RunContext; calls: Recorded; interrupts: FakeInterrupts } {
  const calls: Recorded = {
    audits: [],
    accepted: [],
    settles: [],
    reserves: [],
    options: [],
    plans: [],
    tools: [],
    attributes: [],
    patches: [],
    denied: [],
    timeouts: [],
  };
  const interrupts = new FakeInterrupts();
  const activities = (options: ActivityOptions): StepActivities => {
    calls.options.push(options);
    return {
      plan: (req) => (calls.plans.push(req), (o.plan ?? (() => Promise.reject(new Error('no model'))))(req)),
      callTool: (req) => (calls.tools.push(req), (o.callTool ?? (() => Promise.reject(new Error('no tool'))))(req)),
    };
  };
  // The condition fake hands the context to the approvers; it exists once the services do.
  const box: { ctx?: RunContext } = {};
  const services: RunServices = {
    governance: {
      rowsAfterAccept: true,
      audit: (_step, e) => void calls.audits.push(e),
      auditAccepted: (_step, e) => void calls.accepted.push(e),
      reserve: (step) => (
        calls.reserves.push(step),
        (o.reserve ?? (() => Promise.resolve({ granted: true, replayed: false, day: 'd' })))()
      ),
      settle: (step, usd, tokens) => void calls.settles.push([step, usd, tokens]),
      flushSettlement: () => undefined,
      written: () => Promise.resolve([]),
    },
    attributes: { set: (p) => void calls.attributes.push(p.value), flush: () => undefined },
    interrupts,
    activities,
    patched: (id) => (calls.patches.push(id), o.patched ?? true),
    // The approvers decide (or an interrupt cancels the wait) while the step waits.
    condition: (async (fn: () => boolean, timeoutMs?: number) => {
      if (timeoutMs !== undefined) calls.timeouts.push(timeoutMs);
      await Promise.resolve();
      o.decide?.(box.ctx!);
      return fn();
    }) as RunServices['condition'],
    log: { info: () => undefined, warn: () => undefined },
    observer: { stepEntered: () => undefined, stepEnded: () => undefined, toolDenied: (_s, tool) => void calls.denied.push(tool) },
  };
  const input = runInput(o);
  const ctx = (box.ctx = new RunContext(
    input,
    { runId: 'run-1', execution: 'exec-1', budgetsBeforeCall: o.budgetsBeforeCall ?? true },
    services,
  ));
  return { ctx, calls, interrupts };
}

/** A model answer with this action and usage. */
export function answer(action: PlanResult['action'], cost = 0.001): PlanResult {
  return { action, model: 'gpt-main', usage: { input_tokens: 10, output_tokens: 5, cost_usd: cost } };
}
