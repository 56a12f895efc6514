import type { SessionOptions } from '../../evals/session';
import type { GovernanceStore } from '../../governance/store';
import { EvalSession } from '../../evals/session';
import { createLogger } from '../../observability/logger';
import { installTemporalRuntime } from '../../worker/worker';
import { testTemporal, workflowBundle } from './platform';

/** An eval session on the test run's dev server, with the test run's shared workflow bundle. */
export async function openTestEvalSession(options: Partial<SessionOptions> = {}): Promise<EvalSession> {
  installTemporalRuntime(createLogger({ level: 'error', format: 'json' }));
  const { address, namespace } = testTemporal();
  return EvalSession.open({ address, namespace, workflowBundle: await workflowBundle(), ...options });
}

/**
 * What `evalCommand` needs to run on the test server without starting its own or bundling again; with
 * a governance store (openTestStore), sessions skip opening an embedded PGlite each (seconds apiece).
 */
export async function testCommandArgs(governance?: GovernanceStore): Promise<{ args: string[]; session: Partial<SessionOptions> }> {
  installTemporalRuntime(createLogger({ level: 'error', format: 'json' }));
  const { address, namespace } = testTemporal();
  return {
    args: ['--address', address, '--namespace', namespace],
    session: { workflowBundle: await workflowBundle(), ...(governance ? { governance } : {}) },
  };
}
