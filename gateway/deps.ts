import type { Request } from 'express';
import type { Client, ConnectionOptions } from '@temporalio/client';
import type { ToolRegistry } from '../activities/tools/registry';
import type { AgentRegistry } from '../agents/registry';
import type { Policy } from '../contracts/policy';
import type { RunEventStore } from '../governance/events';
import type { GovernanceStore } from '../governance/store';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import type { ReloadablePolicy } from '../policies/reloadable';
import type { Authorizer } from './authz';
import type { RateLimitSettings } from './middleware/rate-limit';
import type { Principal } from '../contracts/principal';

/** What the gateway is built from; the entry point (or a test) passes them to createApp. */
export interface GatewayDeps {
  client: Client;
  agents: AgentRegistry;
  taskQueue: string;
  logger: Logger;
  /** Base URL of the Temporal Web UI, for links to runs; omitted when there is none. */
  temporalUiUrl?: string;
  /** Makes run ids; tests may fix it. */
  newRunId?: () => string;
  /** How many run starts may wait on Temporal at once; a dispatch beyond it is a 503 at once (default 16). */
  maxStartsInFlight?: number;
  /** Body size limit for JSON requests. */
  bodyLimit?: string;
  /** How long GET /v1/runs/{id} waits for a running run's state query. */
  queryTimeoutMs?: number;
  /** The tools, to check an approver's edited arguments before they reach a run. */
  tools: ToolRegistry;
  /** Who is calling: API keys and JWTs (gateway/auth.ts). */
  authenticate: (req: Request) => Promise<Principal>;
  /** May the caller do it: the entry point passes a PolicyAuthorizer; absent, fixed role checks (RoleAuthorizer). */
  authorizer?: Authorizer;
  /**
   * The policy: every run is started with a snapshot of the one in force at its dispatch (checked before
   * each tool and model call). A ReloadablePolicy can be reloaded (POST /v1/policy/reload, SIGHUP);
   * a plain Policy is fixed for the app's life.
   */
  policy?: Policy | ReloadablePolicy;
  environment?: string;
  /** The audit ledger (governance store); without it nothing is audited. */
  audit?: GovernanceStore;
  /** Request rate limits per principal and per tenant (token buckets). */
  rateLimits?: RateLimitSettings;
  /** Run quotas per tenant. */
  quotas?: QuotaSettings;
  /** The run event log the event streams read (docs/events.md); without it GET /v1/runs/{id}/events is a 503. */
  runEvents?: RunEventStore;
  /** Event stream limits: heartbeat comment interval and the most concurrent watchers (past it, 503). */
  events?: { heartbeatSeconds: number; maxWatchers: number };
  /** The gateway's metrics, served on GET /metrics (a fresh registry when absent). */
  metrics?: GatewayMetrics;
}

export interface QuotaSettings {
  concurrentRuns: number;
  runsPerDay: number;
}

/**
 * gRPC's reconnect backoff for the gateway's Temporal connection. grpc-js's default grows 1.6× per
 * failed attempt up to 120 s (for the connection and for resolving an address by name, as
 * TEMPORAL_ADDRESS=localhost:7233 does), so after a two-minute outage the channel sat in backoff for
 * up to a minute after Temporal was back, answering every request with a 503. Retrying every 2 s at
 * most costs one refused TCP connect per attempt and brings the gateway back within seconds.
 */
export const TEMPORAL_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
} as const;

/** The gateway's Temporal connection options: the target's, with the bounded reconnect backoff (theirs win if set). */
export function gatewayConnectionOptions(options: ConnectionOptions = {}): ConnectionOptions {
  return { ...options, channelArgs: { ...TEMPORAL_CHANNEL_ARGS, ...options.channelArgs } };
}
