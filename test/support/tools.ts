import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createToolRegistry, type ToolSettings } from '../../activities/tools';
import type { ToolRegistry } from '../../activities/tools/registry';
import { runTool } from '../../activities/tools/run';
import { loadSettings } from '../../config/settings';

/** A temporary folder under the test run's scratch space. */
export function scratchDir(prefix: string): string {
  const base = process.env.TEST_TMP_DIR ?? os.tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, `${prefix}-`));
}

/** Writes a tools folder with one file per entry; returns the folder. */
export function writeToolsDir(files: Record<string, string>, dir = scratchDir('tools')): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Log lines of breaker state changes, kept for assertions. */
export function logSink() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    info: (message: string, fields: Record<string, unknown>) => lines.push({ level: 'info', message, fields }),
    warn: (message: string, fields: Record<string, unknown>) => lines.push({ level: 'warn', message, fields }),
  };
  return { lines, logger: logger as unknown as NonNullable<ToolSettings['logger']> };
}

/** A registry over a tools folder (plus the built-in TypeScript tools), with scratch ticket and memory files. */
export function registryFor(toolsDir: string, extra: Partial<ToolSettings> = {}): ToolRegistry {
  const scratch = scratchDir('reg');
  return createToolRegistry({
    docsDir: loadSettings({}).docsDir,
    ticketsFile: path.join(scratch, 'tickets.jsonl'),
    toolsDir,
    env: {},
    logger: logSink().logger,
    ...extra,
  });
}

let calls = 0;
/** Runs a tool of the registry once (validation, guards, output check) as a fresh run step. */
export async function call(registry: ToolRegistry, name: string, args: unknown, step = ++calls, runId = 'test-run') {
  const tool = registry.get(name);
  if (!tool) throw new Error(`no tool ${name} (have ${registry.names().join(', ')})`);
  return runTool(tool, args, { run_id: runId, step, signal: new AbortController().signal });
}

/** The rejection of a promise, as an ApplicationFailure or Error, for assertions on type and message. */
export async function failureOf(p: Promise<unknown>): Promise<{ type?: string; nonRetryable?: boolean; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure)
      return { type: err.type ?? undefined, nonRetryable: err.nonRetryable === true, message: err.message };
    return { message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

/** A local HTTP server whose handler the test sets; records every request. */
export async function localServer(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
