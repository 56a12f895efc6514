import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { WorkflowBundleOption } from '@temporalio/worker';
import type { ModelProvider } from '../activities/model/provider';
import { createToolRegistry } from '../activities/tools';
import type { ToolRegistry } from '../activities/tools/registry';
import { startStatusServer, type StatusServer } from '../agents/incident-investigator/status-server';
import { AgentRegistry } from '../agents/registry';
import { loadModelConfig, type ModelConfig } from '../config/models';
import { loadSettings } from '../config/settings';
import type { Policy } from '../contracts/policy';
import { GovernanceStore, migrate, pgliteSql } from '../governance/store';
import { loadPolicyDir } from '../policies/load';
import { checkRun } from './assertions';
import { compareToBaseline, readBaseline, type Baseline } from './baseline';
import { caseScore, gradeRun, type Judge } from './graded';
import { spread, type CaseOutcome } from './outcome';
import { evalProviders, EvalWorker, type EvalMode, type EvalWorkerOptions } from './runner';
import { loadSuite, type LoadedCase } from './suite';

/** How an eval session runs: where, in which mode, with which catalog. */
export interface SessionOptions {
  address: string;
  namespace: string;
  /** TLS, API key… of the server (Temporal's env conventions), when it needs them. */
  connectionOptions?: EvalWorkerOptions['connectionOptions'];
  agentsDir?: string;
  mode?: EvalMode;
  /** Model vendors' settings (default: from the environment). */
  modelConfig?: ModelConfig;
  /** Providers instead of the configured vendors (tests). */
  providers?: ModelProvider[];
  /** Judge providers instead of the configured vendors (tests). */
  judgeProviders?: ModelProvider[];
  /** Runs of each case (live: pass rate and score spread). */
  trials?: number;
  /** A governance store to write to (default: an in-memory PGlite, dropped at the end). */
  governance?: GovernanceStore;
  policy?: Policy;
  workflowBundle?: WorkflowBundleOption;
  /** Called as each case starts and finishes (the live progress line). */
  onStart?: (index: number, total: number, agent: string, id: string) => void;
  onCase?: (done: number, total: number, o: CaseOutcome) => void;
}

/** One agent (name or name@version) and the suite of its name. */
export interface Target {
  ref: string;
  name: string;
}

/** Parses `agent` or `agent@1.2.0`. */
export function parseTarget(ref: string): Target {
  return { ref, name: ref.split('@', 1)[0]! };
}

/**
 * An eval session: the catalog (tools with per-eval scratch targets, agents, policy), the example
 * status server the incident agent reads, a governance store, and a worker on the Temporal server.
 */
export class EvalSession {
  private constructor(
    readonly options: SessionOptions & { agentsDir: string; mode: EvalMode },
    readonly agents: AgentRegistry,
    private readonly tools: ToolRegistry,
    private readonly worker: EvalWorker,
    private readonly judge: Judge,
    private readonly cleanup: () => Promise<void>,
  ) {}

  /** Loads the catalog and starts the worker. */
  static async open(options: SessionOptions): Promise<EvalSession> {
    const settings = loadSettings();
    const agentsDir = options.agentsDir ?? settings.agentsDir;
    const mode = options.mode ?? 'replay';
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'acp-eval-'));
    let status: StatusServer | undefined;
    let store: GovernanceStore | undefined;
    let tools: ToolRegistry | undefined;
    try {
      status = await startStatusServer();
      // Write tools go to this eval's scratch folder, never to .data/.
      tools = createToolRegistry({
        docsDir: settings.docsDir,
        ticketsFile: path.join(scratch, 'tickets.jsonl'),
        memoryFile: path.join(scratch, 'memory.jsonl'),
        env: { ...process.env, STATUS_URL: status.url, INCIDENTS_PGLITE_DIR: 'memory://' },
      });
      await tools.discover();
      const agents = AgentRegistry.load(agentsDir, tools);
      const policy =
        options.policy ?? loadPolicyDir(settings.policiesDir, { agents: agents.list().map((a) => a.name), tools: tools.names() });
      if (!options.governance) {
        const sql = pgliteSql(await PGlite.create());
        await migrate(sql);
        store = new GovernanceStore(sql);
      }
      const config = options.modelConfig ?? loadModelConfig(process.env, agentsDir);
      const worker = await EvalWorker.start({
        address: options.address,
        namespace: options.namespace,
        ...(options.connectionOptions ? { connectionOptions: options.connectionOptions } : {}),
        agents,
        tools,
        providers: options.providers ?? evalProviders(config, agentsDir, mode),
        policy,
        governance: options.governance ?? store!,
        scratchDir: scratch,
        ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
      });
      const judge = { providers: options.judgeProviders ?? evalProviders(config, agentsDir, mode, 'judge') };
      const s = status;
      const t = tools;
      return new EvalSession({ ...options, agentsDir, mode }, agents, tools, worker, judge, async () => {
        await t.close();
        await s.close();
        await store?.close();
        rmSync(scratch, { recursive: true, force: true });
      });
    } catch (err) {
      await tools?.close();
      await status?.close();
      await store?.close();
      throw err;
    }
  }

  /** Runs one case once and checks it. */
  private async once(ref: string, lc: LoadedCase): Promise<CaseOutcome> {
    const agent = this.agents.resolve(ref);
    const id = `${agent.definition.name}@${agent.definition.version}`;
    const base = { id: lc.id, name: lc.case.name, at: lc.at, agent: id };
    try {
      const run = await this.worker.run(ref, lc.case);
      const checks = [...checkRun(lc.case, run, agent.definition.output_schema), ...(await gradeRun(lc.case, run, this.judge))];
      return {
        ...base,
        verdict: checks.every((c) => c.passed) ? 'pass' : 'fail',
        score: caseScore(checks),
        checks,
        steps: run.steps.length,
        tokens: run.usage.input_tokens + run.usage.output_tokens,
        cost_usd: run.usage.cost_usd,
        wall_ms: run.wall_ms,
        run,
      };
    } catch (err) {
      const message = (err as Error).message;
      return { ...base, verdict: 'error', score: 0, checks: [], steps: 0, tokens: 0, cost_usd: 0, wall_ms: 0, error: message };
    }
  }

  /** Runs one case (`--trials` times) and compares it with the baseline. */
  async runCase(ref: string, lc: LoadedCase, baseline: Baseline | undefined): Promise<CaseOutcome> {
    const trials = Math.max(1, this.options.trials ?? 1);
    const runs: CaseOutcome[] = [];
    for (let i = 0; i < trials; i++) runs.push(await this.once(ref, lc));
    const first = runs[0]!;
    const passed = runs.filter((r) => r.verdict === 'pass').length;
    const scores = spread(runs.map((r) => r.score));
    const outcome: CaseOutcome =
      trials > 1
        ? {
            ...first,
            verdict: passed === trials ? 'pass' : first.verdict === 'error' ? 'error' : 'fail',
            score: scores.mean,
            trials: { trials, passed, pass_rate: passed / trials, score: scores },
          }
        : first;
    return { ...outcome, baseline: compareToBaseline(outcome, baseline) };
  }

  /** Runs the suite of each target; outcomes carry their change against the agent's baseline. */
  async runTargets(targets: Target[]): Promise<CaseOutcome[]> {
    const plan = targets.map((t) => ({ t, suite: loadSuite(this.options.agentsDir, t.name) }));
    const total = plan.reduce((n, p) => n + p.suite.cases.length, 0);
    const out: CaseOutcome[] = [];
    for (const { t, suite } of plan) {
      const baseline = readBaseline(suite.dir);
      for (const lc of suite.cases) {
        this.options.onStart?.(out.length + 1, total, t.ref, lc.id);
        const outcome = await this.runCase(t.ref, lc, baseline);
        out.push(outcome);
        this.options.onCase?.(out.length, total, outcome);
      }
    }
    return out;
  }

  /** Stops the worker and everything the session started. */
  async close(): Promise<void> {
    await this.worker.stop();
    await this.cleanup();
  }
}
