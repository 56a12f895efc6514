// A harness for workflow-level tests of agentRun: the real workflow bundle on a real Worker with fake
// activities (plain functions answering from a script, recording what the run asked of them), driven
// through @temporalio/testing's TestWorkflowEnvironment.
//
// One Temporal dev server per test run: jest's globalSetup (test/support/global-setup.ts) starts it and
// exports TEST_TEMPORAL_ADDRESS/TEST_TEMPORAL_NAMESPACE. TestWorkflowEnvironment.createLocal would start
// another server for every file that calls it, so this harness uses createFromExistingServer against the
// one server; each run gets its own task queue and workflow id, so tests cannot see each other.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { RunEventStore } from '../../governance/events';
import type { AuditEntry, Reservation, ReserveBudgetRequest, SettleRequest } from '../../contracts/governance';
import type {
  AgentRunInput,
  AgentRunOutput,
  PlanRequest,
  PlanResult,
  RunState,
  ToolCallRequest,
  ToolCallResult,
} from '../../contracts/run';
import { WorkerMetrics } from '../../observability/metrics';
import { workerSinks } from '../../worker/observability';
import { installTemporalRuntime } from '../../worker/worker';
import type { agentRun } from '../../workflows';
import { stateQuery } from '../../workflows/messages';
import { capturingLogger, testTemporal, uniqueQueue, workflowBundle } from '../support/platform';
import { runInput } from '../unit/steps-harness';

/** What the run asked of its activities, in order. */
export interface Asked {
  plans: PlanRequest[];
  tools: ToolCallRequest[];
  audits: AuditEntry[];
  reserves: ReserveBudgetRequest[];
  settles: SettleRequest[];
}

/** The script the fake activities answer from; the n-th model call gets n (from 1). */
export interface Script {
  plan: (req: PlanRequest, n: number) => Promise<PlanResult>;
  callTool?: (req: ToolCallRequest) => Promise<ToolCallResult>;
  reserve?: (req: ReserveBudgetRequest) => Promise<Reservation>;
}

/** Fake activities with the real activities' type, so a renamed or reshaped activity fails to compile here. */
export function fakeActivities(script: Script): { asked: Asked; activities: Activities } {
  const asked: Asked = { plans: [], tools: [], audits: [], reserves: [], settles: [] };
  const activities: Activities = {
    plan: (req) => (asked.plans.push(req), script.plan(req, asked.plans.length)),
    callTool: (req) => (asked.tools.push(req), (script.callTool ?? (() => Promise.reject(new Error('no tool in this script'))))(req)),
    reserveBudget: (req) => (
      asked.reserves.push(req),
      (script.reserve ?? (() => Promise.resolve({ granted: true, replayed: false, day: '2026-01-01' })))(req)
    ),
    settleBudget: async (req) => (asked.settles.push(req), { settled: true }),
    recordAudit: async (entries) => void asked.audits.push(...entries),
  };
  return { asked, activities };
}

export interface RunOptions extends Script {
  def?: Record<string, unknown>;
  input?: Partial<AgentRunInput>;
  /** Where the worker's event sink writes (none by default). */
  events?: Pick<RunEventStore, 'append'>;
  /** What the test does while the run is going (approve, cancel, take over…). */
  during?: (handle: WorkflowHandle<typeof agentRun>, asked: Asked) => Promise<void>;
}

/** How a run ended: its output or its failure, with its last state (read by query before the worker stops). */
export interface Ended {
  output?: AgentRunOutput;
  error?: WorkflowFailedError;
  state: RunState;
  asked: Asked;
}

let env: TestWorkflowEnvironment | undefined;

/** The test environment over the test run's one dev server (see the header). */
export async function openEnv(): Promise<TestWorkflowEnvironment> {
  // The SDK's own logs go to a captured logger, not the test output.
  installTemporalRuntime(capturingLogger('workflow-test').logger);
  env ??= await TestWorkflowEnvironment.createFromExistingServer(testTemporal());
  return env;
}

/** Closes the environment's connections (the server is the test run's and stays up). */
export async function closeEnv(): Promise<void> {
  await env?.teardown();
  env = undefined;
}

/** Runs agentRun on its own task queue with fake activities until it ends. */
export async function runAgent(o: RunOptions): Promise<Ended> {
  const e = await openEnv();
  const taskQueue = uniqueQueue('wf');
  const { asked, activities } = fakeActivities(o);
  const worker = await Worker.create({
    connection: e.nativeConnection,
    namespace: e.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    sinks: workerSinks(new WorkerMetrics(), o.events),
  });
  const handle = await e.client.workflow.start<typeof agentRun>('agentRun', {
    taskQueue,
    workflowId: `wf-${randomUUID()}`,
    args: [runInput(o)],
  });
  return worker.runUntil(async () => {
    await o.during?.(handle, asked);
    const ended = await handle.result().then(
      (output) => ({ output }),
      (error: unknown) => {
        if (error instanceof WorkflowFailedError) return { error };
        throw error;
      },
    );
    return { ...ended, state: await handle.query(stateQuery), asked };
  });
}

/** Waits (polling the state query) until the run has a pending approval, and returns it. */
export async function pendingApproval(handle: WorkflowHandle<typeof agentRun>): Promise<RunState['approvals'][number]> {
  for (;;) {
    const state = await handle.query(stateQuery);
    const pending = state.approvals.find((a) => a.status === 'pending');
    if (pending) return pending;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A model answer with this action and usage. */
export function answer(action: PlanResult['action'], cost = 0.001, model = 'gpt-main'): PlanResult {
  return { action, model, usage: { input_tokens: 10, output_tokens: 5, cost_usd: cost } };
}
