import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  bulkhead,
  circuitBreaker,
  handleWhen,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { ErrorCode } from '../../contracts/errors';
import type { Logger } from '../../observability/logger';
import type { BreakerSettings } from './config-schema';
import { isNonRetryable } from './adapters/failures';
import type { ToolContext, ToolDefinition } from './tool';

/** How a configured instance is protected in this process. */
export interface GuardSettings {
  breaker: BreakerSettings;
  concurrency: number;
  queue: number;
}

/**
 * The circuit breakers and bulkheads of this process: one bulkhead per tool instance, one breaker per
 * instance and target (an HTTP host, a database connection, an MCP server), so one bad host does not
 * stop an instance's calls to the others.
 */
export class ToolGuards {
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();
  private readonly bulkheads = new Map<string, BulkheadPolicy>();

  constructor(private readonly log: Pick<Logger, 'warn' | 'info'>) {}

  /** The breaker of an instance and target, created closed on first use; every state change is logged. */
  breaker(instance: string, target: string, settings: BreakerSettings): CircuitBreakerPolicy {
    const key = `${instance}\u0000${target}`;
    let policy = this.breakers.get(key);
    if (!policy) {
      // Only failures that say something about the backend count: not bad arguments, 4xx, SSRF denials.
      policy = circuitBreaker(
        handleWhen((err) => !isNonRetryable(err) && !(err instanceof CancelledFailure)),
        {
          halfOpenAfter: settings.half_open_after_ms,
          breaker: new ConsecutiveBreaker(settings.consecutive_failures),
        },
      );
      const created = policy;
      created.onStateChange((state) => {
        const fields = { tool: instance, target, state: CircuitState[state].toLowerCase() };
        if (state === CircuitState.Closed) this.log.info('tool circuit breaker changed state', fields);
        else this.log.warn('tool circuit breaker changed state', fields);
      });
      this.breakers.set(key, created);
    }
    return policy;
  }

  /** The state of a breaker (`closed` when it was never used). */
  state(instance: string, target: string): string {
    const policy = this.breakers.get(`${instance}\u0000${target}`);
    return policy ? CircuitState[policy.state].toLowerCase() : 'closed';
  }

  /** The worst state of an instance's breakers over its targets: open, then half_open, else closed. */
  worstState(instance: string): string {
    let worst = 'closed';
    for (const [key, policy] of this.breakers) {
      if (!key.startsWith(`${instance}\u0000`)) continue;
      if (policy.state === CircuitState.Open || policy.state === CircuitState.Isolated) return 'open';
      if (policy.state === CircuitState.HalfOpen) worst = 'half_open';
    }
    return worst;
  }

  /** The bulkhead of an instance. */
  bulkhead(instance: string, concurrency: number, queue: number): BulkheadPolicy {
    let policy = this.bulkheads.get(instance);
    if (!policy) {
      policy = bulkhead(concurrency, queue);
      this.bulkheads.set(instance, policy);
    }
    return policy;
  }

  /**
   * Runs one call of `instance` against `target` inside its bulkhead and breaker. An open breaker fails
   * at once with a non-retryable {@link ErrorCode.CircuitOpen}; a full bulkhead with a retryable error.
   */
  async run<T>(instance: string, target: string, settings: GuardSettings, call: () => Promise<T>): Promise<T> {
    const breaker = this.breaker(instance, target, settings.breaker);
    try {
      return await this.bulkhead(instance, settings.concurrency, settings.queue).execute(() => breaker.execute(call));
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw ApplicationFailure.create({
          type: ErrorCode.CircuitOpen,
          message: `circuit open for ${instance} → ${target}: it failed ${settings.breaker.consecutive_failures} times in a row; next trial in at most ${settings.breaker.half_open_after_ms} ms`,
          nonRetryable: true,
          details: [{ tool: instance, target }],
        });
      }
      if (err instanceof BulkheadRejectedError) {
        throw new Error(`${instance} is at its concurrency limit (${settings.concurrency} running, ${settings.queue} waiting)`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

/** Wraps a definition's execute in the guards; `target` names what a call reaches (default: the instance). */
export function guarded(
  tool: ToolDefinition,
  guards: ToolGuards,
  settings: GuardSettings,
  target: (args: unknown) => string = () => tool.name,
  instance = tool.name,
): ToolDefinition {
  const execute = tool.execute.bind(tool);
  return Object.assign(tool, {
    execute: (args: unknown, ctx: ToolContext) => guards.run(instance, target(args), settings, () => execute(args, ctx)),
  });
}
