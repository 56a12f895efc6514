// One run as its step handlers receive it: who and what it is (identity, definition, limits), its
// ledger (what continue-as-new carries), its services (governance, search attributes, interrupts,
// workflow APIs) and what observers are shown. What one step hands the next travels in the event
// (./events), not here. No workflow API is called from this file: the services carry them.
import type { AgentDefinition } from '../contracts/agent';
import { DecisionError } from '../contracts/errors';
import type { TenantDailyBudget } from '../contracts/policy';
import type { AgentRunInput, RunState, Step, StepType, TakeoverUpdateInput } from '../contracts/run';
import { RunSearchAttributes } from '../contracts/run-search-attributes';
import { OPERATOR_ROLES } from '../contracts/vocabulary';
import { decisionError, failureOf } from './describe';
import type { CallFailure, Interrupt } from './events';
import type { GovernedRun } from './run-governance';
import { RunLedger } from './ledger';
import { effectiveLimits, exceededLimit, tenantLimit, type RunLimits } from './limits';
import type { RunServices } from './services';
import { isTerminal } from './state-machine';
import type { ObservedRun, RunDisplay } from './views';

/** Who the run is: its workflow id, this execution, and the paths it was started on. */
export interface RunIdentity {
  runId: string;
  /** This execution of the run: with the run id and the step, the key of its reservations and audit rows. */
  execution: string;
  /** False for runs started before model calls were checked against budgets first (the v1-* histories). */
  budgetsBeforeCall: boolean;
}

/** The labels every log line of a run carries. */
export function runLabels(runId: string, def: AgentDefinition): { run_id: string; agent: string; agent_version: string } {
  return { run_id: runId, agent: def.name, agent_version: def.version };
}

/** The run as its steps see it. */
export class RunContext implements GovernedRun {
  readonly runId: string;
  readonly execution: string;
  readonly budgetsBeforeCall: boolean;
  readonly def: AgentDefinition;
  /** Every log line of the run carries these labels. */
  readonly labels: { run_id: string; agent: string; agent_version: string };
  readonly limits: RunLimits;
  readonly tenantBudget: TenantDailyBudget | undefined;
  readonly ledger: RunLedger;
  /** What observers show beyond the state (the tool in play, the approval asked for): steps write it, never read it. */
  readonly display: RunDisplay = {};
  /** The run as observers may read it. */
  readonly observed: ObservedRun;

  constructor(
    readonly input: AgentRunInput,
    identity: RunIdentity,
    readonly services: RunServices,
  ) {
    ({ runId: this.runId, execution: this.execution, budgetsBeforeCall: this.budgetsBeforeCall } = identity);
    const def = (this.def = input.agent.definition);
    this.labels = runLabels(this.runId, def);
    this.limits = effectiveLimits(input);
    this.tenantBudget = tenantLimit(input);
    this.ledger = new RunLedger(def, input.carry);
    const { interrupts } = services;
    const { ledger, display, labels, limits } = this;
    this.observed = {
      labels,
      tenant: input.initiator.tenant,
      maxSteps: limits.max_steps,
      state: ledger.state,
      usage: ledger.usage,
      display,
      get interrupt() {
        return interrupts.current;
      },
    };
  }

  /** The first interrupt, once there is one. */
  get interrupt(): Interrupt | undefined {
    return this.services.interrupts.current;
  }

  /** Records the start of a step and shows it in the run's search attributes. */
  enter(type: StepType, reason: string, inputSummary: string): Step {
    const { state } = this.ledger;
    const step: Step = { index: state.steps.length + 1, type, started_at: new Date().toISOString(), input_summary: inputSummary, reason };
    state.steps.push(step);
    state.current = type;
    this.services.attributes.set({ key: RunSearchAttributes.runState, value: type });
    this.services.observer.stepEntered(this.observed, step);
    return step;
  }

  /** Records the end of a step: what it produced, or the error it ended with. */
  finish(step: Step, outputSummary?: string, error?: { type: string; message: string }): void {
    step.ended_at = new Date().toISOString();
    if (outputSummary !== undefined) step.output_summary = outputSummary;
    if (error) step.error = error;
    this.services.observer.stepEnded(this.observed, step);
  }

  /** Ends a step that an interrupt cut short; the interrupt is the event that ends it. */
  stopped(step: Step): Interrupt {
    this.finish(step, 'interrupted');
    return this.interrupt!;
  }

  /** Ends a step whose model or tool call failed; the failure is for RetryFallback. */
  failed(step: Step, err: unknown, from: 'model' | 'tool'): CallFailure {
    const failure = { ...failureOf(err), from };
    this.finish(step, undefined, failure);
    return failure;
  }

  /** Runs a step's work so that an interrupt cancels just that work. */
  inStep<T>(work: () => Promise<T>): Promise<T> {
    // The step is about to wait: this is where the workflow task's search attributes are written.
    this.services.attributes.flush();
    return this.services.interrupts.inStep(work);
  }

  /** Whether a step's work failed because it was interrupted. */
  interrupted(err: unknown): boolean {
    return this.services.interrupts.interrupted(err);
  }

  /** The limit the run is over before its next step, or undefined. */
  exceededBudget(): string | undefined {
    return exceededLimit(this.limits, this.ledger.state.steps.length, this.ledger.usage);
  }

  /** Before a step: the interrupt that ends it instead (a spent budget becomes one), or undefined to run it. */
  pendingInterrupt(): Interrupt | undefined {
    const over = this.interrupt ? undefined : this.exceededBudget();
    if (over) this.services.interrupts.interruptWith('budget_exceeded', over);
    return this.interrupt;
  }

  /** Starts the run's deadline: it interrupts whatever is in flight, approvals included. */
  armDeadline(): void {
    this.services.interrupts.armDeadline(Date.parse(this.input.requested_at) + this.limits.timeout_seconds * 1000 - Date.now());
  }

  /** Refuses a takeover by someone without an operator role, or of a run that is no longer running. */
  validateTakeover(u: TakeoverUpdateInput): void {
    if (!u.operator.roles.some((r) => OPERATOR_ROLES.includes(r))) {
      throw decisionError(DecisionError.ApproverNotAllowed, `taking over a run needs one of the roles ${OPERATOR_ROLES.join(', ')}`);
    }
    if (this.ledger.state.status !== 'running' || this.interrupt)
      throw decisionError(DecisionError.RunNotActive, `run ${this.runId} is no longer running`);
  }

  /** An operator takes the run over: it interrupts the step in flight and completes with the operator's result. */
  async takeOver(u: TakeoverUpdateInput): Promise<RunState['output']> {
    this.services.interrupts.takeover = u;
    this.services.interrupts.interruptWith('taken_over', `${u.operator.subject}: ${u.reason}`);
    await this.services.condition(() => isTerminal(this.ledger.state.current));
    return this.ledger.state.output;
  }
}
