// The governance activities a run calls: the tenant's budget (reserve before a model call, settle
// after) and the audit ledger.
import { Context } from '@temporalio/activity';
import type { AuditEntry, Reservation, ReserveBudgetRequest, SettleRequest } from '../contracts/governance';
import type { GovernanceStore } from '../governance/store';
import type { WorkerMetrics } from '../observability/metrics';

/** What the governance activities need: the store's budget counters and ledger, and metrics. */
export interface GovernanceDeps {
  governance: Pick<GovernanceStore, 'append' | 'reserve' | 'settle'>;
  metrics: WorkerMetrics;
}

/** The budget and audit activities: `reserveBudget`, `settleBudget`, `recordAudit`. */
export function governanceActivities({ governance, metrics }: GovernanceDeps) {
  return {
    /**
     * Reserves a model call's estimated cost against the tenant's daily budget, before the call. Atomic
     * and idempotent per run and step (see GovernanceStore.reserve); the day is today in UTC.
     */
    async reserveBudget({ settle_first, ...req }: ReserveBudgetRequest): Promise<Reservation> {
      // The previous call's settlement first, so the reservation sees the actual spend, not its estimate.
      if (settle_first) await governance.settle(settle_first);
      const reservation = await governance.reserve({ ...req, day: new Date().toISOString().slice(0, 10) });
      if (!reservation.replayed) metrics.budgetReservations.inc({ outcome: reservation.granted ? 'granted' : 'denied' });
      Context.current().log.info(reservation.granted ? 'budget reserved' : 'budget reservation denied', {
        run_id: req.run_id,
        step: req.step,
        tenant: req.tenant,
        estimate_usd: req.estimate_usd,
        replayed: reservation.replayed,
        ...(reservation.reason ? { reason: reservation.reason } : {}),
      });
      return reservation;
    },

    /** Settles a reservation with the call's actual usage (zero if it was not made); idempotent. */
    async settleBudget(req: SettleRequest): Promise<{ settled: boolean }> {
      return governance.settle(req);
    },

    /** Appends rows to the audit ledger from inside a run; each carries a dedupe key, so a retry appends once. */
    async recordAudit(entries: (AuditEntry & { dedupe_key: string })[]): Promise<void> {
      for (const e of entries) await governance.append(e);
    },
  };
}
