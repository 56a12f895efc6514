// The governance store as the run sees it: audit rows, budget reservations and their settlements,
// all through local activities (markers in the history).
import { CancellationScope, log, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditEntry, Reservation } from '../contracts/governance';
import type { AgentRunInput } from '../contracts/run';
import type { TenantDailyBudget } from '../contracts/policy';
import { nanoUsd, type CallEstimate } from '../shared/cost';
import { GOVERNANCE_OPTIONS, SETTLING_OPTIONS } from './activity-options';
import { failureOf } from './describe';

/** An audit row as a step writes it: the run fills in tenant, run, trace, dedupe key and (by default) principal. */
export type RunAuditEntry = Omit<AuditEntry, 'tenant' | 'run_id' | 'trace_id' | 'dedupe_key' | 'principal'> & { principal?: string };

/** Who the rows are about: with the step, the run id and execution are the key of reservations and audit rows. */
export interface GovernedRun {
  input: AgentRunInput;
  runId: string;
  /** This execution of the run (the Temporal run id). */
  execution: string;
  labels: Record<string, string>;
}

/** One run's view of the governance store. */
export class RunGovernance {
  private readonly store = proxyLocalActivities<Activities>(GOVERNANCE_OPTIONS);
  private readonly settling = proxyLocalActivities<Activities>(SETTLING_OPTIONS);
  /**
   * Audit rows and settlements in flight: written without holding up the run, awaited before it ends
   * or continues as new. (A settlement can lag: until then the reservation counts at its estimate.)
   */
  private readonly writes: Promise<unknown>[] = [];

  constructor(
    private readonly run: GovernedRun,
    /** False for runs started before runs wrote audit rows: they replay without them. */
    private readonly auditInRun: boolean,
  ) {}

  /** Appends an audit row for the step, without holding up the run. */
  audit(step: number, e: RunAuditEntry): void {
    if (!this.auditInRun) return;
    const { input, runId, execution } = this.run;
    const def = input.agent.definition;
    const row = {
      ...e,
      tenant: input.initiator.tenant,
      principal: e.principal ?? input.initiator.subject,
      run_id: runId,
      ...(input.trace_id ? { trace_id: input.trace_id } : {}),
      details: { agent: def.name, agent_version: def.version, step, ...e.details },
      dedupe_key: `${runId}/${execution}/${step}/${e.action}`,
    };
    this.writes.push(CancellationScope.nonCancellable(() => this.store.recordAudit([row])));
  }

  /** Reserves a model call's estimate against the tenant's daily budget (the caller runs it as step work). */
  reserve(step: number, estimate: CallEstimate, limit: TenantDailyBudget): Promise<Reservation> {
    return this.store.reserveBudget({
      tenant: this.run.input.initiator.tenant,
      run_id: this.run.runId,
      execution: this.run.execution,
      step,
      estimate_usd: estimate.cost_usd,
      estimate_tokens: estimate.tokens,
      limit,
    });
  }

  /** Replaces a reservation's estimate with the actual usage, without holding up the run. */
  settle(stepIndex: number, usd: number, tokens: number): void {
    const { runId, execution, labels } = this.run;
    const write = CancellationScope.nonCancellable(() =>
      this.settling.settleBudget({ run_id: runId, execution, step: stepIndex, actual_usd: nanoUsd(usd), actual_tokens: tokens }),
    ).catch((err: unknown) =>
      log.warn('could not settle a budget reservation; it keeps counting at its estimate', {
        ...labels,
        step: stepIndex,
        error: failureOf(err).message,
      }),
    );
    this.writes.push(write);
  }

  /** Waits for every write in flight, even while the run is being cancelled. */
  written(): Promise<unknown[]> {
    return CancellationScope.nonCancellable(() => Promise.all(this.writes.splice(0)));
  }
}
