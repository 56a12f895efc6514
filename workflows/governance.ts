// The governance store as the run sees it: audit rows, budget reservations and their settlements,
// all through local activities (markers in the history).
import { CancellationScope, log, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditEntry, Reservation, SettleRequest } from '../contracts/governance';
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
  /** A settlement not yet written (lean runs): it rides along with the next reservation. */
  private pending: SettleRequest | undefined;

  constructor(
    private readonly run: GovernedRun,
    /** False for runs started before runs wrote audit rows: they replay without them. */
    private readonly auditInRun: boolean,
    /** True for runs started under `lean-history`: a settlement is folded into the next reservation. */
    private readonly lean = false,
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
