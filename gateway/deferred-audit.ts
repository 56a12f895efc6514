import type { AuditEntry } from '../contracts/governance';
import type { GovernanceStore } from '../governance/store';
import type { Logger } from '../observability/logger';
import type { Caller } from './context';
import type { GatewayDeps } from './deps';

/** A row written after its action took effect: it carries a dedupe key, so writing it twice stores it once. */
export type ActedEntry = AuditEntry & { dedupe_key: string };

/** Delays between attempts to write a row whose action already happened (then every last delay). */
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
/** About an hour of attempts: a store down longer than that is an incident the error log already names. */
const MAX_ATTEMPTS = 125;

/**
 * Records the audit row of an action that has already taken effect (a run started, a decision applied).
 * The action cannot be undone, so a store that is down must not turn its answer into a failure (a
 * client would retry and act twice): the row is written in the background until the store takes it.
 * Resolves with whether it is recorded now or deferred.
 */
export function auditAfterAct(
  store: Pick<GovernanceStore, 'append'>,
  logger: Pick<Logger, 'warn' | 'error'>,
  entry: ActedEntry,
  retryMs: readonly number[] = RETRY_MS,
): Promise<'recorded' | 'deferred'> {
  const attempt = (n: number): Promise<'recorded' | 'deferred'> =>
    store.append(entry).then(
      () => {
        if (n > 0) logger.warn('deferred audit row recorded', { action: entry.action, run_id: entry.run_id, attempts: n + 1 });
        return 'recorded' as const;
      },
      (err: unknown) => {
        const meta = { action: entry.action, run_id: entry.run_id, dedupe_key: entry.dedupe_key, error: String(err), attempt: n + 1 };
        if (n + 1 >= MAX_ATTEMPTS) {
          logger.error('audit row lost: the governance store did not take it', meta);
          return 'deferred' as const;
        }
        if (n === 0) logger.error('audit row not recorded yet (the action took effect); retrying in the background', meta);
        setTimeout(() => void attempt(n + 1), retryMs[Math.min(n, retryMs.length - 1)]);
        return 'deferred' as const;
      },
    );
  return attempt(0);
}

/** The caller's row of an action that took effect: recorded now, or in the background once the store is back. */
export async function auditActed(
  deps: Pick<GatewayDeps, 'audit' | 'logger'>,
  caller: Caller,
  e: Omit<ActedEntry, 'tenant' | 'principal' | 'request_id'>,
): Promise<void> {
  if (!deps.audit) return;
  await auditAfterAct(deps.audit, deps.logger, {
    ...e,
    tenant: caller.principal.tenant,
    principal: caller.principal.subject,
    request_id: caller.requestId,
    trace_id: caller.traceId,
  });
}
