import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { loadSettings, PROJECT_ROOT } from '../config/settings';
import { resolveTemporalCli } from '../temporal/cli';
import { startScratchDevServer, type DevServer } from '../temporal/dev-server';
import { baselineOf, missingFromRun, readBaseline, writeBaseline } from './baseline';
import { summarize, type CaseOutcome, type EvalReport } from './outcome';
import { progressLine, screenTable, textTable, writeReports } from './report';
import type { EvalMode } from './runner';
import { EvalSession, parseTarget, type SessionOptions } from './session';
import { agentsWithSuites, suiteDir } from './suite';
import { parsedOrUsage, TEMPORAL_OPTIONS } from './command-args';

/** Where the command writes and what it may override (tests pass their own). */
export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** stderr is a terminal: the progress line is redrawn in place while a case runs. */
  tty?: boolean;
  /** Session settings a test injects (its providers, bundle, governance store). */
  session?: Partial<SessionOptions>;
}

export const EVAL_USAGE = `usage: npm run eval -- [agent[@version]...] [--live | --record] [--trials N] [--update-baseline]
                     [--compare agent@A agent@B] [--address host:port] [--namespace ns]
                     [--agents-dir dir] [--report-dir dir]`;

/** A Temporal server to run on: --address, else TEMPORAL_ADDRESS (Temporal's env conventions), else a scratch dev server. */
interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions?: SessionOptions['connectionOptions'];
  server: DevServer | undefined;
}

async function temporalTarget(address: string | undefined, namespace: string | undefined, err: CommandIO['err']): Promise<TemporalTarget> {
  if (address) return { address, namespace: namespace ?? 'default', server: undefined };
  if (process.env.TEMPORAL_ADDRESS) {
    const { connectionOptions, namespace: ns } = loadClientConnectConfig();
    return {
      address: connectionOptions.address ?? process.env.TEMPORAL_ADDRESS,
      namespace: namespace ?? ns ?? 'default',
      server: undefined,
    };
  }
  const settings = loadSettings();
  const cli = resolveTemporalCli({ onProgress: (m) => err(`${m}\n`) });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acp-eval-temporal-'));
  const started = await startScratchDevServer({ cliPath: cli.path, dir, searchAttributes: settings.searchAttributes });
  err(`started a scratch Temporal dev server at ${started.address}\n`);
  // Its log folder goes with it (the server is in memory).
  const server: DevServer = {
    ...started,
    stop: async () => {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return { address: server.address, namespace: server.namespace, server };
}

/** Does this outcome fail the command? A regression, an error, or a failure the baseline does not already accept. */
function gates(o: CaseOutcome): boolean {
  if (o.verdict === 'error' || o.baseline?.regression) return true;
  return o.verdict === 'fail' && (o.baseline?.change === 'new' || o.baseline === undefined);
}

/** The command line of `npm run eval`; throws on an unknown or malformed option. */
function parseEvalArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      live: { type: 'boolean', default: false },
      record: { type: 'boolean', default: false },
      trials: { type: 'string', default: '1' },
      'update-baseline': { type: 'boolean', default: false },
      compare: { type: 'boolean', default: false },
      ...TEMPORAL_OPTIONS,
      'agents-dir': { type: 'string' },
      'report-dir': { type: 'string' },
    },
  });
}

/** Notes baseline cases a suite no longer has, writes the HTML, JSON and JUnit reports and names them. */
function printReports(io: CommandIO, report: EvalReport, agentsDir: string, names: string[], reportDir: string | undefined): void {
  for (const name of names) {
    const gone = missingFromRun(readBaseline(suiteDir(agentsDir, name)), report.cases);
    if (gone.length) io.out(`note: ${name}'s baseline has cases this suite no longer has: ${gone.join(', ')}\n`);
  }
  const dir = path.resolve(reportDir ?? path.join(PROJECT_ROOT, 'eval-reports', report.started_at.replace(/[:.]/g, '-')));
  const files = writeReports(dir, report);
  io.out(`reports: ${rel(files.html)}\n         ${rel(files.json)}\n         ${rel(files.junit)}\n`);
}

/** `--update-baseline`: each suite's baseline.json becomes what this run saw. */
function updateBaselines(io: CommandIO, outcomes: CaseOutcome[], agentsDir: string, names: string[]): void {
  for (const name of names) {
    const dirOf = suiteDir(agentsDir, name);
    const mine = outcomes.filter((o) => o.agent.startsWith(`${name}@`));
    const version = mine[0]?.agent.split('@')[1] ?? 'unknown';
    writeBaseline(dirOf, baselineOf(name, version, mine, readBaseline(dirOf)));
    io.out(`baseline updated: ${path.relative(process.cwd(), path.join(dirOf, 'baseline.json'))}\n`);
  }
}

/** `npm run eval`: runs suites, prints the table, writes reports, gates on the baseline. Returns the exit code. */
export async function evalCommand(argv: string[], io: CommandIO): Promise<number> {
  const parsed = parsedOrUsage(io, EVAL_USAGE, () => parseEvalArgs(argv));
  if (!parsed) return 2;
  const v = parsed.values;
  const trials = Number(v.trials);
  const mode: EvalMode = v.record ? 'record' : v.live ? 'live' : 'replay';
  if (!Number.isInteger(trials) || trials < 1) return usage(io, '--trials must be a whole number ≥ 1');
  if (trials > 1 && mode === 'replay') return usage(io, '--trials needs --live or --record: replayed answers are the same every time');
  if (v.compare && parsed.positionals.length !== 2) return usage(io, '--compare takes exactly two agent@version references');
  const agentsDir = path.resolve(v['agents-dir'] ?? loadSettings().agentsDir);
  const refs = parsed.positionals.length ? parsed.positionals : agentsWithSuites(agentsDir);
  if (refs.length === 0) return usage(io, `no agent under ${agentsDir} has an evals/ folder`);

  const started = Date.now();
  const target = await temporalTarget(v.address, v.namespace, io.err);
  let session: EvalSession | undefined;
  try {
    session = await EvalSession.open({
      address: target.address,
      namespace: target.namespace,
      ...(target.connectionOptions ? { connectionOptions: target.connectionOptions } : {}),
      agentsDir,
      mode,
      trials,
      ...(io.tty
        ? { onStart: (i: number, n: number, agent: string, id: string) => io.err(`\r\x1b[K[${i}/${n}] running ${agent} ${id}…`) }
        : {}),
      onCase: (done, total, o) => io.err(`${io.tty ? '\r\x1b[K' : ''}${progressLine(done, total, o)}\n`),
      ...io.session,
    });
    const targets = refs.map(parseTarget);
    // Cases are named by their file relative to the working folder (reports travel; absolute paths do not).
    const outcomes = (await session.runTargets(targets)).map((o) => ({ ...o, at: rel(o.at) }));
    const report: EvalReport = {
      started_at: new Date(started).toISOString(),
      mode,
      agents: refs,
      cases: outcomes,
      summary: summarize(outcomes, Date.now() - started),
    };
    io.out(`${v.compare ? compareTable(outcomes, refs[0]!, refs[1]!) : screenTable(report)}\n`);
    printReports(io, report, agentsDir, [...new Set(targets.map((t) => t.name))], v['report-dir']);
    if (v['update-baseline']) {
      updateBaselines(
        io,
        outcomes,
        agentsDir,
        targets.map((t) => t.name),
      );
      return outcomes.some((o) => o.verdict === 'error') ? 1 : 0;
    }
    if (v.compare) return compareGates(outcomes, refs[0]!, refs[1]!) ? 1 : 0;
    return outcomes.some(gates) ? 1 : 0;
  } finally {
    await session?.close();
    await target.server?.stop();
  }
}

/** A path relative to the working folder when it lies inside it, else as it is. */
const rel = (f: string) => (path.relative(process.cwd(), f).startsWith('..') ? f : path.relative(process.cwd(), f));

function usage(io: CommandIO, message: string): number {
  io.err(`${message}\n${EVAL_USAGE}\n`);
  return 2;
}

const pair = (outcomes: CaseOutcome[], a: string, b: string) => {
  const of = (ref: string) => outcomes.filter((o) => o.agent === ref || o.agent.split('@')[0] === ref);
  const left = of(a);
  const right = new Map(of(b).map((o) => [o.id, o]));
  return left.map((l) => ({ id: l.id, l, r: right.get(l.id) }));
};

/** `--compare`: both versions side by side on the same suite. */
function compareTable(outcomes: CaseOutcome[], a: string, b: string): string {
  const rows = [['CASE', a, '', b, '', 'CHANGE']];
  const cell = (o: CaseOutcome | undefined) =>
    o ? [`${o.verdict.toUpperCase()} ${o.score.toFixed(2)}`, `${o.steps} steps $${o.cost_usd.toFixed(6)}`] : ['-', ''];
  for (const { id, l, r } of pair(outcomes, a, b)) {
    const change = !r
      ? 'missing'
      : l.verdict === r.verdict
        ? Math.abs(l.score - r.score) < 0.005
          ? '='
          : `score ${l.score.toFixed(2)}→${r.score.toFixed(2)}`
        : `${l.verdict}→${r.verdict}`;
    rows.push([id, ...cell(l), ...cell(r), change]);
  }
  return textTable(rows);
}

/** A case the first version passes and the second does not. */
function compareGates(outcomes: CaseOutcome[], a: string, b: string): boolean {
  return pair(outcomes, a, b).some(({ l, r }) => l.verdict === 'pass' && r?.verdict !== 'pass');
}
