// The run's ledger: exactly what it has done so far and carries into its next Temporal run when it
// continues as new (carry()). Pure: no workflow API, so a unit test builds one from a carry.
import type { AgentDefinition } from '../contracts/agent';
import type { ActionTaken, Observation, RunCarry, RunState, Usage } from '../contracts/run';

/** What the run has done: its steps, usage, observations, actions, warnings, approvals and repair and fallback counts. */
export class RunLedger {
  readonly usage: Usage;
  readonly observations: Observation[];
  readonly actions: ActionTaken[];
  readonly warnings: string[];
  /** The run's state as the state query answers it; its steps and approvals are carried. */
  readonly state: RunState;
  repairs: number;
  fallbackUsed: boolean;
  /** Steps recorded by earlier Temporal runs of this run (before continue-as-new). */
  readonly stepsAtStart: number;
  private readonly generation: number;

  constructor(def: AgentDefinition, carry: RunCarry | undefined) {
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
    this.generation = carry?.generation ?? 0;
  }

  /** Adds a model call's usage to the run's. */
  spend(u: Usage): void {
    this.usage.input_tokens += u.input_tokens;
    this.usage.output_tokens += u.output_tokens;
    this.usage.cost_usd += u.cost_usd;
  }

  /** The evidence of every observation so far, in order. */
  evidence(): RunState['output']['evidence'] {
    return this.observations.flatMap((o) => o.evidence);
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
      generation: this.generation + 1,
    };
  }
}
