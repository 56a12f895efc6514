// The governance store as the run sees it: audit rows, budget reservations and their settlements,
// through local activities (markers in the history), except the rows that may exist only once the
// workflow task writing them is accepted (see auditAccepted).
import { CancellationScope, log, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditEntry, Reservation, SettleRequest } from '../contracts/governance';
import type { AgentRunInput } from '../contracts/run';
import type { TenantDailyBudget } from '../contracts/policy';
import { nanoUsd, type CallEstimate } from '../shared/cost';
import { ACCEPTED_AUDIT_OPTIONS, GOVERNANCE_OPTIONS, SETTLING_OPTIONS } from './activity-options';
import { failureOf } from './describe';

/** An audit row as a step writes it: the run fills in tenant, run, trace, dedupe key and (by default) principal. */
export type RunAuditEntry = Omit<AuditEntry, 'tenant' | 'run_id' | 'trace_id' | 'dedupe_key' | 'principal'> & {
  principal?: string;
  /** The trace of the request that caused the row (a decision), else the run's. */
  trace_id?: string;
};

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
  private readonly accepted = proxyActivities<Activities>(ACCEPTED_AUDIT_OPTIONS);
  /**
   * Audit rows and settlements in flight: written without holding up the run, awaited before it ends
   * or continues as new. (A settlement can lag: until then the reservation counts at its estimate.)
   */
  private readonly writes: Promise<unknown>[] = [];
  /** The last row written through auditAccepted (under `approval-rows-after-accept`). */
  private acceptedInOrder: Promise<unknown> = Promise.resolve();
  /** A settlement not yet written (lean runs): it rides along with the next reservation. */
  private pending: SettleRequest | undefined;

  constructor(
    private readonly run: GovernedRun,
    /** False for runs started before runs wrote audit rows: they replay without them. */
    private readonly auditInRun: boolean,
    /** True for runs started under `lean-history`: a settlement is folded into the next reservation. */
    private readonly lean = false,
    /**
     * True for runs started under `approval-rows-after-accept`: they write each decision's row
     * themselves, and approval rows through a regular activity (see auditAccepted).
     */
    readonly rowsAfterAccept = false,
  ) {}

  /** Appends an audit row for the step, without holding up the run. */
  audit(step: number, e: RunAuditEntry): void {
    if (!this.auditInRun) return;
    const row = this.row(step, e, e.action);
    this.writes.push(CancellationScope.nonCancellable(() => this.store.recordAudit([row])));
  }

  /**
   * Appends a row that may exist only if the workflow task writing it is accepted: a decision the run
   * took, the approval it closed. Under `approval-rows-after-accept` it goes through a regular activity,
   * which Temporal schedules only with the task's completion; a local activity would run (and write)
   * before it, also for a task that is then lost. `key` tells apart rows of one action in one step.
   */
  auditAccepted(step: number, e: RunAuditEntry, key: string = e.action): void {
    if (!this.auditInRun) return;
    const row = this.row(step, e, key);
    if (!this.rowsAfterAccept) {
      this.writes.push(CancellationScope.nonCancellable(() => this.store.recordAudit([row])));
      return;
    }
    // One after the other, so the ledger keeps their order (a decision before the close it caused).
    const write = this.acceptedInOrder.then(() => CancellationScope.nonCancellable(() => this.accepted.recordAudit([row])));
    this.acceptedInOrder = write.catch(() => undefined);
    this.writes.push(write);
  }

  private row(step: number, e: RunAuditEntry, key: string) {
    const { input, runId, execution } = this.run;
    const def = input.agent.definition;
    return {
      ...e,
      tenant: input.initiator.tenant,
      principal: e.principal ?? input.initiator.subject,
      run_id: runId,
      ...((e.trace_id ?? input.trace_id) ? { trace_id: e.trace_id ?? input.trace_id } : {}),
      details: { agent: def.name, agent_version: def.version, step, ...e.details },
      dedupe_key: `${runId}/${execution}/${step}/${key}`,
    };
  }

  /** Reserves a model call's estimate against the tenant's daily budget (the caller runs it as step work). */
  async reserve(step: number, estimate: CallEstimate, limit: TenantDailyBudget): Promise<Reservation> {
    const settleFirst = this.pending;
    this.pending = undefined;
    try {
      return await this.store.reserveBudget({
        tenant: this.run.input.initiator.tenant,
        run_id: this.run.runId,
        execution: this.run.execution,
        step,
        estimate_usd: estimate.cost_usd,
        estimate_tokens: estimate.tokens,
        limit,
        ...(settleFirst ? { settle_first: settleFirst } : {}),
      });
    } catch (err) {
      // The reservation failed, so its settlement may not be in: write it on its own (settling is idempotent).
      if (settleFirst) this.write(settleFirst);
      throw err;
    }
  }

  /**
   * Replaces a reservation's estimate with the actual usage, without holding up the run. A lean run
   * keeps it until its next reservation, which settles it first (one local activity instead of two),
   * or until it waits for a human, ends or continues as new.
   */
  settle(stepIndex: number, usd: number, tokens: number): void {
    const { runId, execution } = this.run;
    const req = { run_id: runId, execution, step: stepIndex, actual_usd: nanoUsd(usd), actual_tokens: tokens };
    if (!this.lean) return this.write(req);
    this.flushSettlement();
    this.pending = req;
  }

  /** Writes the settlement a lean run is holding, if any. */
  flushSettlement(): void {
    const req = this.pending;
    this.pending = undefined;
    if (req) this.write(req);
  }

  private write(req: SettleRequest): void {
    const write = CancellationScope.nonCancellable(() => this.settling.settleBudget(req)).catch((err: unknown) =>
      log.warn('could not settle a budget reservation; it keeps counting at its estimate', {
        ...this.run.labels,
        step: req.step,
        error: failureOf(err).message,
      }),
    );
    this.writes.push(write);
  }

  /** Waits for every write in flight, even while the run is being cancelled. */
  written(): Promise<unknown[]> {
    this.flushSettlement();
    return CancellationScope.nonCancellable(() => Promise.all(this.writes.splice(0)));
  }
}
