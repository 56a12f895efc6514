import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { htmlReport } from './html';
import type { CaseOutcome, EvalReport } from './outcome';

const money = (x: number) => (x === 0 ? '$0' : `$${x.toFixed(x < 0.01 ? 6 : 4)}`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The verdict as a person reads it, with the trial pass rate when there were trials. */
export function verdictLabel(o: CaseOutcome): string {
  const v = o.verdict === 'pass' ? 'PASS' : o.verdict === 'fail' ? 'FAIL' : 'ERROR';
  return o.trials ? `${v} ${o.trials.passed}/${o.trials.trials}` : v;
}

/** The live progress line for a case that just finished. */
export function progressLine(done: number, total: number, o: CaseOutcome): string {
  return `[${done}/${total}] ${verdictLabel(o).padEnd(5)} ${o.agent} ${o.id} (${secs(o.wall_ms)})`;
}

/** Lays rows out as an aligned text table. */
export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

/** The screen table: case, verdict, score, steps, tokens, cost, time, change vs baseline; then why each failure failed. */
export function screenTable(report: EvalReport): string {
  const rows = [['CASE', 'VERDICT', 'SCORE', 'STEPS', 'TOKENS', 'COST', 'TIME', 'VS BASELINE']];
  for (const o of report.cases) {
    const score = o.trials ? `${o.score.toFixed(2)}±${o.trials.score.stdev.toFixed(2)}` : o.score.toFixed(2);
    rows.push([
      `${o.agent} ${o.id}`,
      verdictLabel(o),
      score,
      String(o.steps),
      String(o.tokens),
      money(o.cost_usd),
      secs(o.wall_ms),
      o.baseline?.change ?? '',
    ]);
  }
  const s = report.summary;
  const lines = [
    textTable(rows),
    '',
    `${s.passed} passed, ${s.failed} failed, ${s.errors} errors, ${s.regressions} regressions in ${secs(s.wall_ms)} (${report.mode})`,
  ];
  const why = report.cases.filter((o) => o.verdict !== 'pass' || o.baseline?.regression);
  if (why.length) lines.push('');
  for (const o of why) {
    lines.push(`✗ ${o.agent} ${o.id}  (${o.at})`);
    if (o.error) lines.push(`    error: ${o.error}`);
    for (const c of o.checks.filter((c) => !c.passed)) lines.push(`    ${c.name}: ${c.detail}`);
    if (o.baseline?.regression) lines.push(`    vs baseline: ${o.baseline.regression}`);
  }
  return lines.join('\n');
}

const xml = (s: string) => s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);

/** JUnit XML: one testsuite per agent, one testcase per case; failures carry the failed checks and regressions. */
export function junitXml(report: EvalReport): string {
  const byAgent = new Map<string, CaseOutcome[]>();
  for (const o of report.cases) byAgent.set(o.agent, [...(byAgent.get(o.agent) ?? []), o]);
  const suites = [...byAgent].map(([agent, cases]) => {
    const failures = cases.filter((o) => o.verdict === 'fail' || (o.verdict === 'pass' && o.baseline?.regression)).length;
    const errors = cases.filter((o) => o.verdict === 'error').length;
    const time = cases.reduce((t, o) => t + o.wall_ms, 0) / 1000;
    const body = cases.map((o) => {
      const open = `    <testcase classname="${xml(agent)}" name="${xml(o.id)}" file="${xml(o.at)}" time="${(o.wall_ms / 1000).toFixed(3)}">`;
      const failed = o.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
      if (o.baseline?.regression) failed.push(`vs baseline: ${o.baseline.regression}`);
      if (o.verdict === 'error') return `${open}\n      <error message="${xml(o.error ?? 'error')}"/>\n    </testcase>`;
      if (failed.length) return `${open}\n      <failure message="${xml(failed[0]!)}">${xml(failed.join('\n'))}</failure>\n    </testcase>`;
      return `${open}</testcase>`;
    });
    return `  <testsuite name="${xml(agent)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">\n${body.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="evals">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** Writes report.json, junit.xml and report.html to dir; returns their paths. */
export function writeReports(dir: string, report: EvalReport): { json: string; junit: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const files = { json: path.join(dir, 'report.json'), junit: path.join(dir, 'junit.xml'), html: path.join(dir, 'report.html') };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.junit, junitXml(report));
  writeFileSync(files.html, htmlReport(report));
  return files;
}
