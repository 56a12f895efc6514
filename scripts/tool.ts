// `npm run tool -- <name> '<json args>'`: runs one tool once through the activity's own tool path
// (runTool: validation, SSRF guard, timeout, breaker, bulkhead), but no model and no workflow.
// `--list` lists the tools.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createToolRegistry, runTool } from '../activities/tools';
import { loadSettings } from '../config/settings';
import { createLogger } from '../observability/logger';

const USAGE = "usage: npm run tool -- <tool name> '<json arguments>'   |   npm run tool -- --list";

async function main(argv: string[], setExit: (code: number) => void): Promise<number> {
  const settings = loadSettings();
  // Breaker state changes go to stderr, so stdout stays the tool's JSON.
  const logger = createLogger({ level: 'warn', format: 'json', defaults: { service: 'tool' }, stream: process.stderr });
  const tools = createToolRegistry({ ...settings, logger });
  try {
    const code = await command(tools, argv);
    setExit(code);
    return code;
  } finally {
    await tools.close();
  }
}

async function command(tools: ReturnType<typeof createToolRegistry>, argv: string[]): Promise<number> {
  if (argv[0] === '--list') {
    await tools.discover();
    const rows = tools.names().map((name) => {
      const t = tools.get(name)!;
      return [
        name,
        t.kind ?? 'typescript',
        t.destructive ? `${t.side_effect} (destructive)` : t.side_effect,
        t.max_classification,
        t.description,
      ];
    });
    const table = [['NAME', 'KIND', 'SIDE_EFFECT', 'CLEARANCE', 'DESCRIPTION'], ...rows];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table) {
      process.stdout.write(`${r.map((c, i) => (i < 4 ? c.padEnd(widths[i]! + 2) : c)).join('')}\n`);
    }
    return 0;
  }
  const [name, json = '{}'] = argv;
  if (!name || argv.length > 2) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (err) {
    process.stderr.write(`arguments are not JSON: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const tool = tools.get(name) ?? (await tools.discover().then(() => tools.get(name)));
  if (!tool) {
    process.stderr.write(`unknown tool "${name}" (known: ${tools.names().join(', ')})\n`);
    return 2;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  try {
    const result = await runTool(tool, args, { run_id: `cli-${randomUUID()}`, step: 1, signal: controller.signal });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (err) {
    const failure =
      err instanceof ApplicationFailure
        ? { type: err.type, non_retryable: err.nonRetryable === true, message: err.message }
        : { type: 'Error', non_retryable: false, message: (err as Error).message };
    process.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
    return 1;
  }
}

// The exit code is set before the tools close: closing an MCP server need not keep the process alive.
const setExit = (code: number) => (process.exitCode = code);
main(process.argv.slice(2), setExit).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm run tool failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
