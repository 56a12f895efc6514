import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineMcpTool, MCP_TOOL_ERROR, McpServerConnection, mcpServer, resolveServerEntry, resultText } from '../../activities/tools/mcp';
import { createMemoryNoteTool, MEMORY_SERVER_PACKAGE, memoryServerSpec } from '../../activities/tools/memory-note';
import type { ToolContext, ToolDefinition } from '../../activities/tools/tool';
import { createToolRegistry } from '../../activities/tools';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';

// The adapter against a real MCP server, @modelcontextprotocol/server-memory, spawned from
// node_modules: no stub. Each test has its own graph file in the test run's temporary folder.

interface Note {
  output: { entity: string; entity_created: boolean; observation_added: boolean };
  evidence: { source: string; excerpt: string }[];
}
// What the server's read_graph returns.
const GraphSchema = z.object({
  entities: z.array(z.object({ name: z.string(), entityType: z.string(), observations: z.array(z.string()) }).strict()),
  relations: z.array(z.unknown()),
});

let tmp: string;
let file: string;
let server: McpServerConnection;
let tool: ToolDefinition;
beforeEach(() => {
  tmp = mkdtempSync(path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), 'mcp-unit-'));
  // In a folder that does not exist yet: the tool creates it before the server writes there.
  file = path.join(tmp, 'graph', 'memory.jsonl');
  server = new McpServerConnection(memoryServerSpec(file));
  tool = createMemoryNoteTool(file, server);
});
afterEach(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

const ctx = (step = 1, signal = new AbortController().signal): ToolContext => ({ run_id: 'run-mcp', step, signal });
const note = async (args: Record<string, unknown>, c = ctx()): Promise<Note> => (await tool.execute(tool.input.parse(args), c)) as Note;
const graph = async (connection = server) => GraphSchema.parse((await connection.callTool('read_graph', {})).structuredContent);
const observationsOf = async (entity: string, connection = server) =>
  (await graph(connection)).entities.find((e) => e.name === entity)?.observations ?? [];

/** Whether a process runs (a zombie waiting for its parent to reap it does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

async function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure, got none');
}

test("resolves the server's JS entry from node_modules, never through npx", () => {
  const entry = resolveServerEntry(MEMORY_SERVER_PACKAGE);
  // Compared as real paths: node_modules may be a symlink (a git worktree sharing another's packages).
  expect(realpathSync(entry)).toBe(
    realpathSync(path.join(PROJECT_ROOT, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js')),
  );
  expect(existsSync(entry)).toBe(true);
  expect(() => resolveServerEntry('@acme/no-such-mcp-server')).toThrow('is not installed');
  expect(() => resolveServerEntry(MEMORY_SERVER_PACKAGE, 'other')).toThrow('has no bin "other"');
});

test('memory_note: the server starts on the first call, stores the observation, and a retried step adds nothing', async () => {
  expect(server.pid).toBeUndefined();
  expect(server.spawns).toBe(0);

  const first = await note({ entity: 'db-1', entity_type: 'host', observation: 'disk /var at 100%' });
  expect(first.output).toEqual({ entity: 'db-1', entity_created: true, observation_added: true });
  expect(first.evidence).toEqual([{ source: 'memory:db-1', excerpt: 'disk /var at 100%' }]);
  const pid = server.pid!;
  expect(pid).toEqual(expect.any(Number));
  expect(pid).not.toBe(process.pid);
  expect(alive(pid)).toBe(true);

  // The server's own store: its JSON Lines file, and its own read_graph tool.
  expect(readFileSync(file, 'utf8')).toContain('disk /var at 100%');
  expect(await graph()).toEqual({
    entities: [{ name: 'db-1', entityType: 'host', observations: ['disk /var at 100%'] }],
    relations: [],
  });

  // The same step again (an activity retry): nothing new, on the same server process.
  const again = await note({ entity: 'db-1', entity_type: 'host', observation: 'disk /var at 100%' });
  expect(again.output).toEqual({ entity: 'db-1', entity_created: false, observation_added: false });
  await note({ entity: 'db-1', observation: 'cleaned up by ops' });
  expect(await observationsOf('db-1')).toEqual(['disk /var at 100%', 'cleaned up by ops']);
  expect(server.pid).toBe(pid);
  expect(server.spawns).toBe(1);
});

test('concurrent calls on one connection lose no write (the memory server is called one call at a time)', async () => {
  const facts = Array.from({ length: 8 }, (_, i) => `fact ${i}`);
  await Promise.all(facts.map((observation) => note({ entity: 'svc', observation })));
  expect((await observationsOf('svc')).sort()).toEqual(facts);
  expect(server.spawns).toBe(1);
});

test("an isError result throws a non-retryable McpToolError with the server's message", async () => {
  // A pass-through tool over the server's add_observations, which fails for an unknown entity.
  const observe = defineMcpTool({
    name: 'memory_observe',
    description: 'add an observation to an existing entity',
    input: z.object({ entity: z.string(), observation: z.string() }),
    output: z.unknown(),
    side_effect: 'write',
    max_classification: 'internal',
    timeout_ms: 10_000,
    max_attempts: 1,
    server,
    async execute({ entity, observation }, _ctx, call) {
      const result = await call('add_observations', { observations: [{ entityName: entity, contents: [observation] }] });
      return { output: result.structuredContent };
    },
  });
  const err = await failure(observe.execute({ entity: 'ghost', observation: 'boo' }, ctx()));
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: MCP_TOOL_ERROR, nonRetryable: true });
  expect(err.message).toContain('Entity with name ghost not found');
  expect(err.message).toContain('MCP server memory, tool add_observations');

  // A tool the server does not have: refused by the server, not retried either.
  const unknown = await failure(server.callTool('no_such_tool', {}));
  expect(unknown).toMatchObject({ type: MCP_TOOL_ERROR, nonRetryable: true });
  expect(unknown.message).toContain('no_such_tool');

  // The connection is still good.
  await note({ entity: 'ghost', observation: 'now it exists' });
  expect(await observationsOf('ghost')).toEqual(['now it exists']);
  expect(server.spawns).toBe(1);
});

test('a server process that died is replaced on the next call; a call caught by the death fails retryably', async () => {
  await note({ entity: 'db-1', observation: 'before the crash' });
  const first = server.pid!;

  // Killed between calls: the next call spawns a new server, which reads the same graph file.
  process.kill(first, 'SIGKILL');
  await until(() => server.pid === undefined, 10_000, 'the connection to notice the death');
  expect(alive(first)).toBe(false);
  await note({ entity: 'db-1', observation: 'after the crash' });
  const second = server.pid!;
  expect(second).not.toBe(first);
  expect(server.spawns).toBe(2);
  expect(await observationsOf('db-1')).toEqual(['before the crash', 'after the crash']);

  // Killed with a call on its way: that call fails with a plain Error (Temporal retries it), the next one works.
  process.kill(second, 'SIGKILL');
  const err = await failure(server.callTool('read_graph', {}));
  expect(err).not.toBeInstanceOf(ApplicationFailure);
  expect(err.message).toMatch(/MCP server memory, tool read_graph: .*(exited|closed)/i);
  expect(await observationsOf('db-1')).toEqual(['before the crash', 'after the crash']);
  expect(server.spawns).toBe(3);
});

test('the abort signal: an aborted call rejects with its reason, writes nothing, and leaves the connection usable', async () => {
  const before = new AbortController();
  before.abort(new Error('cancelled before'));
  await expect(note({ entity: 'x', observation: 'never' }, ctx(1, before.signal))).rejects.toThrow('cancelled before');
  expect(server.spawns).toBe(0);

  // Aborted while the server is starting: the caller is released at once.
  const during = new AbortController();
  const pending = server.callTool('read_graph', {}, { signal: during.signal });
  during.abort(new Error('cancelled during'));
  await expect(pending).rejects.toThrow('cancelled during');

  expect(await graph()).toEqual({ entities: [], relations: [] });
  expect(existsSync(file)).toBe(false);
});

test('close() stops the server process; a later call starts a new one', async () => {
  await note({ entity: 'a', observation: 'one' });
  const pid = server.pid!;
  await server.close();
  expect(server.pid).toBeUndefined();
  await until(() => !alive(pid), 10_000, 'the server to exit');
  expect(await observationsOf('a')).toEqual(['one']);
  expect(server.spawns).toBe(2);
});

test('one connection per server per process; the registry has memory_note only with a memory file', () => {
  const spec = memoryServerSpec(file);
  expect(mcpServer(spec)).toBe(mcpServer({ ...spec }));
  expect(mcpServer(spec)).not.toBe(mcpServer(memoryServerSpec(path.join(tmp, 'other.jsonl'))));
  const docsDir = path.join(tmp, 'docs');
  const ticketsFile = path.join(tmp, 'tickets.jsonl');
  expect(createToolRegistry({ docsDir, ticketsFile }).names()).not.toContain('memory_note');
  const registry = createToolRegistry({ docsDir, ticketsFile, memoryFile: file });
  expect(registry.spec('memory_note')).toEqual({
    name: 'memory_note',
    side_effect: 'write',
    max_classification: 'internal',
    timeout_ms: 10_000,
    max_attempts: 3,
  });
  // Building the registry starts no server.
  expect(mcpServer(spec).spawns).toBe(0);
});

// A separate Node process that uses the tool, as a worker would: it loads the TypeScript sources
// through @swc/core (the compiler jest uses), makes one call and prints the server's pid.
const CHILD = `
const fs = require('node:fs');
const swc = require('@swc/core');
require.extensions['.ts'] = (m, f) => m._compile(swc.transformSync(fs.readFileSync(f, 'utf8'), {
  filename: f, jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' },
}).code, f);
const { createMemoryNoteTool } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'activities/tools/memory-note.ts'))});
const tool = createMemoryNoteTool(process.env.GRAPH_FILE);
tool.execute({ entity: 'child', entity_type: 'note', observation: 'from the child' }, { run_id: 'r', step: 1, signal: new AbortController().signal })
  .then(() => {
    console.log(JSON.stringify({ server: tool.server.pid }));
    if (process.env.STAY) setInterval(() => {}, 1000);
  });
`;

function runChild(stay: boolean) {
  const child = spawn(process.execPath, ['-e', CHILD], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, GRAPH_FILE: file, ...(stay ? { STAY: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  let code: number | null | undefined;
  child.on('exit', (c) => (code = c));
  spawned.push(child);
  const serverPid = async () => {
    await until(() => out.includes('\n'), 20_000, `the child to report (stderr: ${err})`);
    const pid = (JSON.parse(out.trim()) as { server: number }).server;
    servers.push(pid);
    return pid;
  };
  /** The child's exit code, once it has exited by itself (fails, instead of hanging, if it does not). */
  const exited = async () => {
    await until(() => code !== undefined, 15_000, 'the child process to exit');
    return code;
  };
  return { child, exited, serverPid };
}

// Whatever a failed assertion leaves running is ended here, by pid.
const spawned: ReturnType<typeof spawn>[] = [];
const servers: number[] = [];
afterAll(() => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of servers) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

test('the server keeps no process alive and does not outlive it', async () => {
  // A process that made a call and has nothing left to do exits by itself, without close(), and its server ends.
  const done = runChild(false);
  const pid = await done.serverPid();
  expect(await done.exited()).toBe(0);
  await until(() => !alive(pid), 10_000, 'the server of the exited process to end');

  // A process killed outright (no exit hook runs): its server sees stdin close and ends.
  const killed = runChild(true);
  const pid2 = await killed.serverPid();
  expect(alive(pid2)).toBe(true);
  killed.child.kill('SIGKILL');
  await killed.exited();
  await until(() => !alive(pid2), 10_000, 'the server of the killed process to end');

  // Both really wrote through their server.
  expect(await observationsOf('child')).toEqual(['from the child']);
}, 60_000);

test('the memory file setting: .data/memory.jsonl under the project, MCP_MEMORY_FILE overrides it', () => {
  expect(loadSettings({}).memoryFile).toBe(path.join(PROJECT_ROOT, '.data', 'memory.jsonl'));
  expect(loadSettings({ MCP_MEMORY_FILE: 'x/m.jsonl' }).memoryFile).toBe(path.join(PROJECT_ROOT, 'x', 'm.jsonl'));
  expect(loadSettings({ MCP_MEMORY_FILE: '/var/tmp/m.jsonl' }).memoryFile).toBe('/var/tmp/m.jsonl');
});

test('resultText joins the text parts of a result', () => {
  expect(
    resultText({
      content: [
        { type: 'text', text: 'a' },
        { type: 'image', data: '', mimeType: 'image/png' },
        { type: 'text', text: 'b' },
      ],
    }),
  ).toBe('a\nb');
});
