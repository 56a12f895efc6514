// One run's state and bookkeeping, as one object the step handlers receive: what the run has done so
// far, the interrupts that cut a step short and the limits it is held to. What one step hands the next
// travels in the event (./events), not here.
import { CancellationScope, condition, isCancellation, patched, sleep, workflowInfo } from '@temporalio/workflow';
import type { AgentDefinition } from '../contracts/agent';
import { DecisionError } from '../contracts/errors';
import type { TenantDailyBudget } from '../contracts/policy';
import type {
  ActionTaken,
  AgentRunInput,
  Observation,
  RunCarry,
  RunState,
  Step,
  StepType,
  TakeoverUpdateInput,
  Usage,
} from '../contracts/run';
import { RunSearchAttributes } from '../contracts/search-attributes';
import { decisionError, failureOf } from './describe';
import { RunGovernance } from './governance';
import { effectiveLimits, exceededLimit, tenantLimit, type RunLimits } from './limits';
import { OPERATOR_ROLES } from './messages';
import type { CallFailure, Interrupt } from './events';
import { stepEnded, stepEntered, type RunDisplay } from './observe';
import { RunAttributes } from './search-attributes';
import { isTerminal } from './state-machine';

/** The run as its steps see it. */
export class RunContext {
  readonly runId: string;
  readonly def: AgentDefinition;
  /** Every log line of the run carries these labels. */
  readonly labels: { run_id: string; agent: string; agent_version: string };
  readonly limits: RunLimits;
  readonly tenantBudget: TenantDailyBudget | undefined;
  /** False for runs started before model calls were checked against budgets first (the v1-* histories). */
  readonly budgetsBeforeCall: boolean;
  /** This execution of the run: with the run id and the step, the key of its reservations and audit rows. */
  readonly execution: string;
  readonly governance: RunGovernance;
  /** The run's search attributes (buffered, one upsert per workflow task, for runs started under `lean-history`). */
  readonly attributes: RunAttributes;

  readonly usage: Usage;
  readonly observations: Observation[];
  readonly actions: ActionTaken[];
  readonly warnings: string[];
  readonly state: RunState;
  repairs: number;
  fallbackUsed: boolean;
  /** Steps recorded by earlier Temporal runs of this run (before continue-as-new). */
  readonly stepsAtStart: number;

  /** What observers show beyond the state (the tool in play, the approval asked for): steps write it, never read it. */
  readonly display: RunDisplay = {};

  interrupt: Interrupt | undefined;
  takeover: TakeoverUpdateInput | undefined;
  private stepScope: CancellationScope | undefined;
  private stepWasCancelled = false;

  constructor(readonly input: AgentRunInput) {
    this.runId = workflowInfo().workflowId;
    const def = (this.def = input.agent.definition);
    this.labels = { run_id: this.runId, agent: def.name, agent_version: def.version };
    this.limits = effectiveLimits(input);
    this.tenantBudget = tenantLimit(input);
    // Runs started by a worker that wrote no audit rows, or checked no budget before a model call, must
    // replay without them (docs/changing-workflows.md; the v1-* histories are such runs). Both are
    // decided here, when the run starts.
    const auditInRun = patched('audit-rows-from-runs');
    this.budgetsBeforeCall = patched('budgets-before-call');
    // Runs started before `lean-history` upserted search attributes once per step and settled each model
    // call in its own local activity; they replay that way.
    const lean = patched('lean-history');
    this.attributes = new RunAttributes(lean);
    this.execution = workflowInfo().runId;
    const carry = input.carry;
    this.usage = carry?.usage ?? { input_tokens: 0, output_tokens: 0, cost_usd: 0 };
    this.observations = carry?.observations ?? [];
    this.actions = carry?.actions ?? [];
    this.warnings = carry?.warnings ?? [];
    this.state = {
      status: 'running',
      current: 'Plan',
      agent: { name: def.name, version: def.version },
      steps: carry?.steps ?? [],
      usage: this.usage,
      approvals: carry?.approvals ?? [],
      output: { result: null, evidence: [], actions_taken: this.actions, warnings: this.warnings },
    };
    this.repairs = carry?.repairs ?? 0;
    this.fallbackUsed = carry?.fallback_used ?? false;
    this.stepsAtStart = this.state.steps.length;
    // Runs started before `approval-rows-after-accept` left each decision's row to the gateway and wrote
    // approval rows through local activities (which a lost workflow task does not undo).
    this.governance = new RunGovernance(this, auditInRun, lean, patched('approval-rows-after-accept'));
  }

  /** Records the start of a step and shows it in the run's search attributes. */
  enter(type: StepType, reason: string, inputSummary: string): Step {
    const step: Step = {
      index: this.state.steps.length + 1,
      type,
      started_at: new Date().toISOString(),
      input_summary: inputSummary,
      reason,
    };
    this.state.steps.push(step);
    this.state.current = type;
    this.attributes.set({ key: RunSearchAttributes.runState, value: type });
    stepEntered(this, step);
    return step;
  }

  /** Records the end of a step: what it produced, or the error it ended with. */
  finish(step: Step, outputSummary?: string, error?: { type: string; message: string }): void {
    step.ended_at = new Date().toISOString();
    if (outputSummary !== undefined) step.output_summary = outputSummary;
    if (error) step.error = error;
    stepEnded(this, step);
  }

  /** Ends a step that an interrupt cut short; the interrupt's event ends it. */
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

  /** Runs a step's work in its own cancellation scope, so an interrupt cancels just that work. */
  async inStep<T>(work: () => Promise<T>): Promise<T> {
    // The step is about to wait: this is where the workflow task's search attributes are written.
    this.attributes.flush();
    const scope = new CancellationScope();
    this.stepScope = scope;
    this.stepWasCancelled = false;
    try {
      return await scope.run(work);
    } finally {
      // A tool may fail with its own error when cancelled; what counts is that the scope was cancelled.
      this.stepWasCancelled = scope.consideredCancelled;
      this.stepScope = undefined;
    }
  }

  /** Whether a step's work failed because it was interrupted (recording the caller's cancel if nothing else did). */
  interrupted(err: unknown): boolean {
    if (!isCancellation(err) && !this.stepWasCancelled) return false;
    // A cancellation nobody asked for inside the workflow is the caller's cancel request.
    this.interrupt ??= { type: 'cancelled', detail: 'cancelled through the API' };
    return true;
  }

  /** Interrupts the run: the first interrupt wins and cancels the step in flight. */
  interruptWith(type: Interrupt['type'], detail: string): void {
    this.interrupt ??= { type, detail };
    this.stepScope?.cancel();
  }

  /** The limit the run is over before its next step, or undefined. */
  exceededBudget(): string | undefined {
    return exceededLimit(this.limits, this.state.steps.length, this.usage);
  }

  /** Starts the run's deadline, a workflow timer: it interrupts whatever is in flight, approvals included. */
  armDeadline(): void {
    const deadlineMs = Date.parse(this.input.requested_at) + this.limits.timeout_seconds * 1000 - Date.now();
    void sleep(Math.max(deadlineMs, 1)).then(
      () => this.interruptWith('budget_exceeded', 'timeout_seconds'),
      () => undefined, // the run ended or was cancelled first
    );
  }

  /** Refuses a takeover by someone without an operator role, or of a run that is no longer running. */
  validateTakeover(u: TakeoverUpdateInput): void {
    if (!u.operator.roles.some((r) => OPERATOR_ROLES.includes(r))) {
      throw decisionError(DecisionError.ApproverNotAllowed, `taking over a run needs one of the roles ${OPERATOR_ROLES.join(', ')}`);
    }
    if (this.state.status !== 'running' || this.interrupt)
      throw decisionError(DecisionError.RunNotActive, `run ${this.runId} is no longer running`);
  }

  /** An operator takes the run over: it interrupts the step in flight and completes with the operator's result. */
  async takeOver(u: TakeoverUpdateInput): Promise<RunState['output']> {
    this.takeover = u;
    this.interruptWith('taken_over', `${u.operator.subject}: ${u.reason}`);
    await condition(() => isTerminal(this.state.current));
    return this.state.output;
  }

  /** What the run carries into its next Temporal run when it continues as new. */
  carry(): RunCarry {
    return {
      steps: this.state.steps,
      usage: this.usage,
      observations: this.observations,
      actions: this.actions,
      warnings: this.warnings,
      approvals: this.state.approvals,
      repairs: this.repairs,
      fallback_used: this.fallbackUsed,
      generation: (this.input.carry?.generation ?? 0) + 1,
    };
  }
}
