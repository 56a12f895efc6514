import type { QuotaSettings } from '../deps';
import { HttpProblem } from '../problem';
import type { RunStore } from './store';
import { tenantRunsQuery } from './visibility';

/** The 429 of a quota reached, naming it and its limit. */
const quotaExceeded = (quota: string, limit: number, detail: string) =>
  new HttpProblem(429, 'quota-exceeded', 'Quota exceeded', detail, { quota, limit });

/** Refuses a dispatch that would exceed the tenant's run quotas (429 naming the quota). */
export async function checkQuotas(runs: RunStore, quotas: QuotaSettings | undefined, tenant: string): Promise<void> {
  if (!quotas) return;
  const running = await runs.count(tenantRunsQuery(tenant, { running: true }));
  if (running >= quotas.concurrentRuns) {
    const detail = `Quota concurrent_runs reached: tenant ${tenant} has ${running} running runs (limit ${quotas.concurrentRuns}).`;
    throw quotaExceeded('concurrent_runs', quotas.concurrentRuns, detail);
  }
  const midnight = new Date();
  midnight.setUTCHours(0, 0, 0, 0);
  const today = await runs.count(tenantRunsQuery(tenant, { since: midnight }));
  if (today >= quotas.runsPerDay) {
    const detail = `Quota runs_per_day reached: tenant ${tenant} started ${today} runs today (UTC; limit ${quotas.runsPerDay}).`;
    throw quotaExceeded('runs_per_day', quotas.runsPerDay, detail);
  }
}
