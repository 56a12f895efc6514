import type { GovernanceStore } from '../governance/store';
import { WorkerMetrics } from '../observability/metrics';
import type { FileBlobStore } from './blob-store';
import { governanceActivities } from './governance-activities';
import type { ModelProvider } from './model/provider';
import { planActivities } from './plan-activity';
import { MAX_INLINE_OUTPUT_BYTES, toolActivities } from './tool-activity';
import type { ToolRegistry } from './tools/registry';

export interface ActivityDeps {
  providers: ModelProvider[];
  tools: ToolRegistry;
  /** Where tool outputs too large for workflow history go. */
  blobs: FileBlobStore;
  /** Tool outputs whose JSON is larger than this stay out of history (default 32 KiB). */
  maxInlineOutputBytes?: number;
  /** The governance store: tenant budget counters and the audit ledger runs write to. */
  governance: Pick<GovernanceStore, 'append' | 'reserve' | 'settle'>;
  /** The worker's metrics (a registry nobody scrapes when absent). */
  metrics?: WorkerMetrics;
}

/** Builds the activities with their dependencies; the worker registers what this returns. */
export function createActivities({
  providers,
  tools,
  blobs,
  governance,
  maxInlineOutputBytes = MAX_INLINE_OUTPUT_BYTES,
  metrics = new WorkerMetrics(),
}: ActivityDeps) {
  return {
    ...planActivities({ providers, tools, metrics }),
    ...governanceActivities({ governance, metrics }),
    ...toolActivities({ tools, blobs, maxInlineOutputBytes, metrics }),
  };
}

/** The activity interface the workflow proxies (types only). */
export type Activities = ReturnType<typeof createActivities>;
