// The benchmark's results as rows (the platform against raw Temporal, a ratio, the target and
// whether it is met), printed as a table and written as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** One measured number of both arms, compared. */
export interface Row {
  scenario: string;
  metric: string;
  raw: number;
  platform: number;
  /** platform / raw, or platform − raw where the target is a difference. */
  ratio: number;
  /** The target (reported, never asserted), e.g. "≥ 0.9" or "≤ raw + 5 ms". */
  target?: string;
  met?: boolean;
}

type Target = { kind: 'min-ratio' | 'max-ratio'; value: number } | { kind: 'max-diff'; value: number; unit: string };

/** A row compared as its target says: a ratio (higher or lower is better) or a difference. */
export function row(scenario: string, metric: string, raw: number, platform: number, target?: Target): Row {
  const diff = target?.kind === 'max-diff';
  // A ratio over nothing (no rate held, memory that did not grow measurably) says nothing: no verdict.
  const ratio = diff ? platform - raw : raw > 0 && platform >= 0 ? platform / raw : NaN;
  if (!target || Number.isNaN(ratio)) return { scenario, metric, raw, platform, ratio, ...(target ? { target: '' } : {}) };
  const met = target.kind === 'min-ratio' ? ratio >= target.value : ratio <= target.value;
  const text =
    target.kind === 'max-diff' ? `≤ raw + ${target.value} ${target.unit}` : `${target.kind === 'min-ratio' ? '≥' : '≤'} ${target.value}×`;
  return { scenario, metric, raw, platform, ratio, target: text, met };
}

const fmt = (n: number) => (Number.isNaN(n) ? '-' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The rows as a Markdown table (it reads in a terminal and pastes into docs/performance.md). */
export function table(rows: Row[]): string {
  const head = ['scenario', 'metric', 'raw', 'platform', 'ratio / diff', 'target', 'met'];
  const body = rows.map((r) => [
    r.scenario,
    r.metric,
    fmt(r.raw),
    fmt(r.platform),
    fmt(r.ratio),
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'no',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [
    line(head),
    `| ${widths.map((w, i) => (i >= 2 && i <= 4 ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`,
    ...body.map(line),
  ].join('\n');
}

/** Writes the results as JSON and returns the path. */
export function writeJson(file: string, data: unknown): string {
  const abs = path.resolve(file);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, JSON.stringify(data, null, 2) + '\n');
  return abs;
}
