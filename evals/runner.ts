import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NativeConnection, type Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { FileBlobStore } from '../activities/blob-store';
import { createModelProviders } from '../activities/model';
import type { ModelProvider } from '../activities/model/provider';
import type { ToolRegistry } from '../activities/tools/registry';
import type { AgentRegistry } from '../agents/registry';
import type { ModelConfig } from '../config/models';
import type { Policy } from '../contracts/policy';
import type { AgentRunOutput, Approval, RunState } from '../contracts/run';
import { checkContext, checkOutputSpecUsable, effectiveLabels } from '../gateway/labels';
import type { GovernanceStore } from '../governance/store';
import { AGENT_RUN, agentRunInput, agentRunStartOptions } from '../shared/run-start';
import type { agentRun } from '../workflows/agent-run';
import { approvalUpdate, stateQuery } from '../workflows/messages';
import { createWorker } from '../worker/worker';
import type { RunRecord } from './assertions';
import { PlanCassetteProvider } from './plan-cassettes';
import type { EvalCase } from './suite';

/** replay: answers from cassettes only (no network); record: live answers written to cassettes; live: live, nothing written. */
export type EvalMode = 'replay' | 'record' | 'live';

/** Where an agent's cassettes live: model exchanges in evals/cassettes/, captured plan steps in evals/cassettes/plan/. */
export const cassetteDirs = (agentsDir: string, agent: string) => {
  const base = path.join(agentsDir, agent, 'evals', 'cassettes');
  return { model: base, plan: path.join(base, 'plan'), judge: path.join(base, 'judge') };
};

/** The providers of an eval worker: every vendor on cassettes in the agent's suite folder, captured plan steps first. */
export function evalProviders(
  config: ModelConfig,
  agentsDir: string,
  mode: EvalMode,
  folder: 'model' | 'judge' = 'model',
): ModelProvider[] {
  const cassettes = { mode: mode === 'live' ? ('off' as const) : mode, dirFor: (agent: string) => cassetteDirs(agentsDir, agent)[folder] };
  const providers = createModelProviders({ ...config, cassettes });
  return folder === 'judge' ? providers : providers.map((p) => new PlanCassetteProvider(p, (agent) => cassetteDirs(agentsDir, agent).plan));
}

export interface EvalWorkerOptions {
  address: string;
  namespace: string;
  connectionOptions?: Parameters<typeof Connection.connect>[0];
  agents: AgentRegistry;
  tools: ToolRegistry;
  providers: ModelProvider[];
  policy: Policy;
  governance: Pick<GovernanceStore, 'append' | 'reserve' | 'settle'>;
  /** Blobs and other per-eval scratch output. */
  scratchDir: string;
  workflowBundle?: WorkflowBundleOption;
  /** Longest a case may run before it is cancelled (default 120 s). */
  caseTimeoutMs?: number;
}

const APPROVER = { subject: 'eval-approver', roles: ['approver', 'admin'] };
const INITIATOR = { subject: 'eval', tenant: 'evals', roles: ['dispatcher'] };

/** Reads the output a failed run carries in its failure's details (workflows/agent-run.ts puts it there). */
function failedOutput(err: unknown): AgentRunOutput | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.details?.[0] as AgentRunOutput | undefined;
  return undefined;
}

/**
 * A real worker on its own task queue, against a Temporal server, that runs eval cases through the
 * agentRun workflow exactly as a dispatched run: the input the gateway builds (resolved agent, policy
 * snapshot, context labels), and approvals answered through the workflow's approval update.
 */
export class EvalWorker {
  private constructor(
    private readonly o: EvalWorkerOptions,
    private readonly client: Client,
    private readonly connection: Connection,
    private readonly native: NativeConnection,
    private readonly worker: Worker,
    private readonly running: Promise<void>,
    readonly taskQueue: string,
  ) {}

  /** Connects and starts polling. */
  static async start(o: EvalWorkerOptions): Promise<EvalWorker> {
    const taskQueue = `evals-${randomUUID()}`;
    mkdirSync(o.scratchDir, { recursive: true });
    const connection = await Connection.connect({ ...o.connectionOptions, address: o.address });
    // The same TLS / API key for the worker's connection (the SDK's option shapes are alike, as scripts/runtime.ts uses them).
    const native = await NativeConnection.connect({
      ...(o.connectionOptions as Parameters<typeof NativeConnection.connect>[0]),
      address: o.address,
    });
    const worker = await createWorker({
      connection: native,
      namespace: o.namespace,
      taskQueue,
      providers: o.providers,
      tools: o.tools,
      blobs: new FileBlobStore(path.join(o.scratchDir, 'blobs')),
      governance: o.governance,
      ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : {}),
    });
    const running = worker.run();
    return new EvalWorker(o, new Client({ connection, namespace: o.namespace }), connection, native, worker, running, taskQueue);
  }

  /** Runs one case of `agentRef` (name or name@version) to its end and reads what it did. */
  async run(agentRef: string, c: EvalCase): Promise<RunRecord> {
    const agent = this.o.agents.resolve(agentRef);
    const def = agent.definition;
    checkOutputSpecUsable(c.output_spec);
    checkContext(def.name, def.input_schema, c.context);
    // The input and start a dispatched run gets (shared/run-start.ts), with the eval's initiator and policy.
    const input = agentRunInput(agent, c, {
      initiator: INITIATOR,
      requestedAt: new Date().toISOString(),
      contextLabels: effectiveLabels(def.input_schema, c.context, {}),
      policy: { policy: this.o.policy, environment: 'dev' },
    });
    const runId = `eval-${def.name}-${randomUUID()}`;
    const started = Date.now();
    const handle = await this.client.workflow.start<typeof agentRun>(
      AGENT_RUN,
      agentRunStartOptions(input, {
        workflowId: runId,
        taskQueue: this.taskQueue,
        memo: { eval_case: c.name },
        summary: `eval ${def.name}@${def.version}: ${c.name}`,
      }),
    );
    const problems: string[] = [];
    const answered = this.answerApprovals(handle, c, problems).catch((err: unknown) => {
      problems.push(`answering approvals failed: ${(err as Error).message}`);
    });
    let output: AgentRunOutput | undefined;
    let error: RunRecord['error'];
    try {
      output = await handle.result();
    } catch (err) {
      output = failedOutput(err);
      const cause = err instanceof WorkflowFailedError ? err.cause : err;
      error = {
        type: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause instanceof CancelledFailure ? 'Cancelled' : 'Error',
        message: cause instanceof Error ? cause.message : String(cause),
      };
    }
    const wall = Date.now() - started;
    await answered;
    const state: RunState | undefined = output ? undefined : await handle.query(stateQuery).catch(() => undefined);
    const steps = output?.steps ?? state?.steps ?? [];
    return {
      run_id: runId,
      agent: { name: def.name, version: def.version },
      status: output?.status ?? state?.status ?? (error?.type === 'Cancelled' ? 'cancelled' : 'failed'),
      ...(output?.error || error ? { error: output?.error ?? error } : {}),
      result: output?.result ?? state?.output.result,
      evidence: output?.evidence ?? state?.output.evidence ?? [],
      actions_taken: output?.actions_taken ?? state?.output.actions_taken ?? [],
      warnings: output?.warnings ?? state?.output.warnings ?? [],
      steps,
      approvals: output?.approvals ?? state?.approvals ?? [],
      usage: output?.usage ?? state?.usage ?? { input_tokens: 0, output_tokens: 0, cost_usd: 0 },
      wall_ms: wall,
      problems,
    };
  }

  /**
   * Watches the run and answers each approval it asks for with the case's next answer, through the
   * same update the gateway sends. An approval with no answer left cancels the run (the case fails).
   */
  private async answerApprovals(handle: WorkflowHandle<typeof agentRun>, c: EvalCase, problems: string[]): Promise<void> {
    const answers = [...c.approvals];
    const seen = new Set<string>();
    const deadline = Date.now() + (this.o.caseTimeoutMs ?? 120_000);
    for (;;) {
      const desc = await handle.describe();
      if (desc.status.name !== 'RUNNING') return;
      if (Date.now() > deadline) {
        problems.push(`the run did not finish within ${(this.o.caseTimeoutMs ?? 120_000) / 1000} s`);
        await handle.cancel();
        return;
      }
      const state = await handle.query(stateQuery).catch(() => undefined);
      const pending = (state?.approvals ?? []).filter((a: Approval) => a.status === 'pending' && !seen.has(a.id));
      for (const a of pending) {
        seen.add(a.id);
        const answer = answers.shift();
        if (!answer) {
          problems.push(`the run asked for approval of ${a.tool ?? a.kind} (step ${a.step}) and the case has no answer left`);
          await handle.cancel();
          return;
        }
        try {
          await handle.executeUpdate(approvalUpdate, {
            args: [
              {
                approval_id: a.id,
                decision: answer.decision,
                args_hash: a.args_hash ?? '',
                ...(answer.comment ? { comment: answer.comment } : {}),
                ...(answer.decision === 'approve' && answer.edited_args ? { edited_args: answer.edited_args } : {}),
                approver: APPROVER,
              },
            ],
          });
        } catch (err) {
          // The update's validator refused the answer (edited arguments the tool rejects…): the run would wait for ever.
          problems.push(`the run refused the case's answer to the approval of ${a.tool ?? a.kind}: ${(err as Error).message}`);
          await handle.cancel();
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the worker and closes the connections. */
  async stop(): Promise<void> {
    if (this.worker.getState() === 'RUNNING') this.worker.shutdown();
    await this.running;
    await this.native.close();
    await this.connection.close();
  }
}
