import type { QuotaSettings } from '../deps';
import { HttpProblem } from '../problem';
import type { RunStore } from './store';
import { tenantRunsQuery } from './visibility';

/** Refuses a dispatch that would exceed the tenant's run quotas (429 naming the quota). */
export async function checkQuotas(runs: RunStore, quotas: QuotaSettings | undefined, tenant: string): Promise<void> {
  if (!quotas) return;
  const running = await runs.count(tenantRunsQuery(tenant, { running: true }));
  if (running >= quotas.concurrentRuns) {
    throw new HttpProblem(
      429,
      'quota-exceeded',
      'Quota exceeded',
      `Quota concurrent_runs reached: tenant ${tenant} has ${running} running runs (limit ${quotas.concurrentRuns}).`,
      { quota: 'concurrent_runs', limit: quotas.concurrentRuns },
    );
  }
  const midnight = new Date();
  midnight.setUTCHours(0, 0, 0, 0);
  const today = await runs.count(tenantRunsQuery(tenant, { since: midnight }));
  if (today >= quotas.runsPerDay) {
    throw new HttpProblem(
      429,
      'quota-exceeded',
      'Quota exceeded',
      `Quota runs_per_day reached: tenant ${tenant} started ${today} runs today (UTC; limit ${quotas.runsPerDay}).`,
      { quota: 'runs_per_day', limit: quotas.runsPerDay },
    );
  }
}
