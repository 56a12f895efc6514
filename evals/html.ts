import type { CaseOutcome, EvalReport } from './outcome';

const esc = (s: string) => s.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]!);
const json = (v: unknown) => esc(JSON.stringify(v, null, 2) ?? 'undefined');

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d1d1f}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}
.pass{color:#11772e;font-weight:600}.fail,.error{color:#b3261e;font-weight:600}
.reg{color:#b3261e}
details{margin:.5rem 0 1.5rem;border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem}
summary{cursor:pointer;font-weight:600}
pre{background:#f7f7f9;padding:.5rem;overflow:auto;max-height:20rem}
code{font-size:12px}`;

function trajectory(o: CaseOutcome): string {
  if (!o.run) return `<p class="error">${esc(o.error ?? 'no run')}</p>`;
  const rows = o.run.steps.map((s) => {
    const usage = s.usage ? `${s.usage.input_tokens + s.usage.output_tokens} tok` : '';
    const policy = s.policy ? `${s.policy.effect} (${s.policy.rule})` : '';
    const err = s.error ? `<span class="fail">${esc(`${s.error.type}: ${s.error.message}`)}</span>` : '';
    return `<tr><td>${s.index}</td><td>${esc(s.type)}</td><td>${esc(s.input_summary)}</td><td>${esc(s.output_summary ?? '')} ${err}</td><td>${esc(policy)}</td><td>${usage}</td><td>${esc(s.reason)}</td></tr>`;
  });
  return `<table><tr><th>#</th><th>step</th><th>input</th><th>output</th><th>policy</th><th>usage</th><th>why</th></tr>${rows.join('')}</table>`;
}

function caseSection(o: CaseOutcome, i: number): string {
  const checks = o.checks
    .map(
      (c) =>
        `<tr><td class="${c.passed ? 'pass' : 'fail'}">${c.passed ? '✓' : '✗'}</td><td>${esc(c.name)}</td><td>${c.score === undefined ? '' : `${c.score.toFixed(2)} / ${c.threshold}`}</td><td>${esc(c.detail)}</td></tr>`,
    )
    .join('');
  const reg = o.baseline?.regression ? `<p class="reg">vs baseline: ${esc(o.baseline.regression)}</p>` : '';
  return `<details id="case-${i}"${o.verdict !== 'pass' ? ' open' : ''}>
<summary><span class="${o.verdict}">${o.verdict.toUpperCase()}</span> ${esc(o.agent)} — ${esc(o.id)} <small>(${esc(o.at)})</small></summary>
${reg}<table><tr><th></th><th>check</th><th>score</th><th>detail</th></tr>${checks}</table>
<h4>Trajectory${o.run ? ` — run ${esc(o.run.run_id)}` : ''}</h4>${trajectory(o)}
<h4>Result</h4><pre><code>${json(o.run?.result)}</code></pre>
${o.run?.approvals.length ? `<h4>Approvals</h4><pre><code>${json(o.run.approvals.map((a) => ({ tool: a.tool, status: a.status, decisions: a.decisions })))}</code></pre>` : ''}
</details>`;
}

/** A self-contained HTML page (no scripts, no external assets): summary table, then each case with its checks and trajectory. */
export function htmlReport(report: EvalReport): string {
  const s = report.summary;
  const rows = report.cases
    .map(
      (o, i) =>
        `<tr><td><a href="#case-${i}">${esc(o.agent)} ${esc(o.id)}</a></td><td class="${o.verdict}">${o.verdict.toUpperCase()}${o.trials ? ` ${o.trials.passed}/${o.trials.trials}` : ''}</td><td>${o.score.toFixed(2)}</td><td>${o.steps}</td><td>${o.tokens}</td><td>$${o.cost_usd.toFixed(6)}</td><td>${(o.wall_ms / 1000).toFixed(1)}s</td><td class="${o.baseline?.regression ? 'reg' : ''}">${esc(o.baseline?.change ?? '')}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eval report ${esc(report.started_at)}</title><style>${STYLE}</style></head>
<body><h1>Eval report</h1>
<p>${esc(report.started_at)} · mode ${esc(report.mode)} · ${esc(report.agents.join(', '))} · <strong>${s.passed} passed, ${s.failed} failed, ${s.errors} errors, ${s.regressions} regressions</strong></p>
<table><tr><th>case</th><th>verdict</th><th>score</th><th>steps</th><th>tokens</th><th>cost</th><th>time</th><th>vs baseline</th></tr>${rows}</table>
${report.cases.map((o, i) => caseSection(o, i)).join('\n')}
</body></html>
`;
}
