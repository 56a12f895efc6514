import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../contracts/errors';
import type { Policy } from '../../contracts/policy';
import { decide } from '../../policies/engine';
import { ToolConfigError } from '../../activities/tools/config-file';
import { MCP_TOOL_ERROR, mcpServer } from '../../activities/tools/mcp';
import { memoryServerSpec } from '../../activities/tools/memory-note';
import type { ToolRegistry } from '../../activities/tools/registry';
import { startMcpHttpServer } from '../support/fakes/mcp-http-server';
import { call, failureOf, logSink, registryFor, scratchDir, writeToolsDir } from '../support/tools';

// The mcp adapter against real MCP servers: @modelcontextprotocol/server-memory from npm over stdio,
// and an SDK-built server over streamable HTTP in this process.
let http: Awaited<ReturnType<typeof startMcpHttpServer>>;
let registry: ToolRegistry;
const sink = logSink();
const memoryFile = path.join(scratchDir('mcp'), 'graph.jsonl');
const filesRoot = scratchDir('mcp-files');

beforeAll(async () => {
  http = await startMcpHttpServer();
  const dir = writeToolsDir({
    'mcp.yaml': `
tools:
  - name: memory
    kind: mcp
    stdio:
      package: '@modelcontextprotocol/server-memory'
      env: { MEMORY_FILE_PATH: '\${MCP_MEMORY_FILE}' }
    serial: true
    expose:
      create_entities: { side_effect: write }
      search_nodes: { side_effect: read }
  - name: owners
    kind: mcp
    http:
      url: '${http.url}'
      secret_headers: { Authorization: { env: OWNERS_TOKEN, prefix: 'Bearer ' } }
    expose: '*'
    timeout_ms: 400
    max_attempts: 2
    breaker: { consecutive_failures: 2, half_open_after_ms: 300 }
  - name: files
    kind: mcp
    stdio:
      package: '@modelcontextprotocol/server-filesystem'
      args: ['${filesRoot}']
    expose: '*'
`,
  });
  registry = registryFor(dir, { memoryFile, env: { OWNERS_TOKEN: 'tok' }, logger: sink.logger });
  await registry.discover();
}, 60_000);
afterAll(async () => {
  await registry.close();
  await http.close();
});

test('discovery names the tools <instance>.<tool>: configured ones, and every tool of an expose: * server', () => {
  expect(registry.names()).toEqual(
    expect.arrayContaining(['memory.create_entities', 'memory.search_nodes', 'owners.lookup', 'owners.fail', 'owners.malformed']),
  );
  expect(registry.names()).not.toContain('memory.delete_entities');
  expect(registry.spec('memory.search_nodes')).toMatchObject({ side_effect: 'read', max_classification: 'internal' });
  expect(registry.spec('owners.lookup')).toMatchObject({ side_effect: 'write', max_classification: 'internal' });
  expect(registry.get('owners.lookup')!.description).toBe('Looks up a service owner.');
});

test("expose: '*' takes each tool's side effect from the server's annotations (server-filesystem) and policy can match destructive ones", () => {
  // read_text_file says readOnlyHint: true; write_file readOnlyHint: false, destructiveHint: true;
  // create_directory readOnlyHint: false, destructiveHint: false.
  expect(registry.spec('files.read_text_file')).toMatchObject({ side_effect: 'read' });
  expect(registry.spec('files.read_text_file')).not.toHaveProperty('destructive');
  expect(registry.spec('files.write_file')).toMatchObject({ side_effect: 'write', destructive: true });
  expect(registry.spec('files.create_directory')).toMatchObject({ side_effect: 'write' });
  expect(registry.spec('files.create_directory')).not.toHaveProperty('destructive');
  // A tool without annotations is a destructive write (the MCP specification's defaults); destructiveHint: false is a plain write.
  expect(registry.spec('owners.lookup')).toMatchObject({ side_effect: 'write', destructive: true });
  expect(registry.spec('owners.annotated_note')).toMatchObject({ side_effect: 'write' });
  expect(registry.spec('owners.annotated_note')).not.toHaveProperty('destructive');
  const policy: Policy = {
    hash: 'test',
    rules: [
      { id: 'tools-allowed', action: 'tool_call', when: { tools: ['*'] }, effect: 'allow', source: 't:1' },
      { id: 'destructive-needs-approval', action: 'tool_call', when: { destructive: true }, effect: 'require_approval', source: 't:2' },
    ],
  };
  const effect = (tool: string) => {
    const { side_effect, destructive } = registry.spec(tool);
    const resource = { tool, side_effect, ...(destructive ? { destructive } : {}) };
    return decide(policy, { subject: 'a', tenant: 't', roles: [] }, 'tool_call', resource, { environment: 'dev' }).effect;
  };
  expect([effect('files.write_file'), effect('files.read_text_file'), effect('files.create_directory')]).toEqual([
    'require_approval',
    'allow',
    'allow',
  ]);
});

test("expose: '*' reports the tools it leaves out for their names, naming each and why", () => {
  expect(registry.names().some((n) => n.toLowerCase().includes('owner.lookup'))).toBe(false);
  const warning = sink.lines.find((l) => l.level === 'warn' && l.fields.server === 'owners');
  expect(warning?.fields.tools).toEqual(['Owner.Lookup']);
  expect(warning?.message).toContain('"Owner.Lookup" (must be lower-case letters');
});

test('stdio: server-memory records an entity, and the read tool beside it finds it', async () => {
  const created = await call(registry, 'memory.create_entities', {
    entities: [{ name: 'checkout', entityType: 'service', observations: ['p95 latency 2s'] }],
  });
  expect(created.output).toMatchObject({ entities: [{ name: 'checkout' }] });
  const found = await call(registry, 'memory.search_nodes', { query: 'checkout' });
  expect(found.output).toMatchObject({ entities: [{ name: 'checkout', observations: ['p95 latency 2s'] }] });
  expect(existsSync(memoryFile) && readFileSync(memoryFile, 'utf8')).toContain('p95 latency 2s');
});

test('memory_note and the configured memory instance are one server process: a fact noted is found by memory.search_nodes', async () => {
  await call(registry, 'memory.search_nodes', { query: 'anything' });
  // The configured instance's connection is the one memory_note uses (pooled by package, env and mode).
  const shared = mcpServer(memoryServerSpec(memoryFile));
  const pid = shared.pid;
  expect(pid).toBeDefined();
  const noted = await call(registry, 'memory_note', { entity: 'billing', entity_type: 'service', observation: 'owned by team-pay' });
  expect(noted.output).toMatchObject({ entity: 'billing', observation_added: true });
  const found = await call(registry, 'memory.search_nodes', { query: 'billing' });
  expect(found.output).toMatchObject({ entities: [{ name: 'billing', observations: ['owned by team-pay'] }] });
  expect(shared.pid).toBe(pid);
});

test("stdio: arguments that fail the server's input schema are refused before the call", async () => {
  const before = existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8') : '';
  expect(await failureOf(call(registry, 'memory.create_entities', { entities: 'checkout' }))).toMatchObject({
    type: ErrorCode.ToolInputInvalid,
    nonRetryable: true,
    message: expect.stringContaining('entities'),
  });
  expect(existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8') : '').toBe(before);
});

test('streamable HTTP: success with structured output, the secret header sent', async () => {
  const { output } = await call(registry, 'owners.lookup', { service: 'search' });
  expect(output).toEqual({ service: 'search', owner: 'team-search' });
  expect(http.behaviour.authorization).toContain('Bearer tok');
});

test('streamable HTTP: a timeout is retryable and the retry succeeds', async () => {
  http.behaviour.delayMs = 1000;
  const f = await failureOf(call(registry, 'owners.lookup', { service: 'a' }));
  expect(f.nonRetryable).toBeFalsy();
  expect(f.message).toMatch(/timed out|Request timed out/i);
  http.behaviour.delayMs = 0;
  await expect(call(registry, 'owners.lookup', { service: 'a' })).resolves.toMatchObject({ output: { owner: 'team-a' } });
});

test('streamable HTTP: an isError answer is non-retryable, a schema violation in is refused, a malformed output names the path', async () => {
  expect(await failureOf(call(registry, 'owners.fail', { why: 'no' }))).toMatchObject({
    type: MCP_TOOL_ERROR,
    nonRetryable: true,
    message: expect.stringContaining('refused: no'),
  });
  const calls = http.behaviour.calls;
  expect(await failureOf(call(registry, 'owners.lookup', { service: 7 }))).toMatchObject({ type: ErrorCode.ToolInputInvalid });
  expect(http.behaviour.calls).toBe(calls);
  const bad = await failureOf(call(registry, 'owners.malformed', {}));
  expect(bad.nonRetryable).toBe(true);
  expect(bad.message).toMatch(/count/);
});

test('streamable HTTP: a server that goes away opens the breaker; it recovers half-open when the server is back', async () => {
  const port = http.port;
  await http.close();
  for (let i = 0; i < 2; i++) expect((await failureOf(call(registry, 'owners.lookup', { service: 'a' }))).nonRetryable).toBeFalsy();
  expect(await failureOf(call(registry, 'owners.lookup', { service: 'a' }))).toMatchObject({
    type: ErrorCode.CircuitOpen,
    nonRetryable: true,
  });
  http = await startMcpHttpServer(port);
  await new Promise((r) => setTimeout(r, 350));
  await expect(call(registry, 'owners.lookup', { service: 'b' })).resolves.toMatchObject({ output: { owner: 'team-b' } });
  expect(sink.lines.filter((l) => l.fields.tool === 'owners').map((l) => l.fields.state)).toEqual(['open', 'halfopen', 'closed']);
});

describe('configuration errors name the file, the line and what to do', () => {
  const load = (yaml: string, env: Record<string, string> = {}) => registryFor(writeToolsDir({ 'bad.yaml': yaml }), { env });
  const thrown = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected an error');
  };

  test('an unknown adapter kind', () => {
    const err = thrown(() => load('tools:\n  - name: files\n    kind: ftp\n    description: x\n'));
    expect(err).toBeInstanceOf(ToolConfigError);
    expect(err.message).toMatch(/bad\.yaml:3: tools\.0\.kind: unknown adapter kind "ftp": use one of http, sql, mcp/);
  });

  test('a missing environment variable', () => {
    const err = thrown(() =>
      load(
        "tools:\n  - name: s\n    kind: http\n    description: x\n    side_effect: read\n    method: GET\n    url: '${STATUS_URL}/x'\n    input_schema: {}\n",
      ),
    );
    expect(err.message).toMatch(/bad\.yaml:7: environment variable STATUS_URL is not set: export it, or write \$\{STATUS_URL:-<default>\}/);
    const secret = thrown(() =>
      load(
        "tools:\n  - name: s\n    kind: http\n    description: x\n    side_effect: read\n    method: GET\n    url: 'http://a.example/x'\n    input_schema: {}\n    secret_headers:\n      Authorization: { env: API_TOKEN }\n",
      ),
    );
    expect(secret.message).toMatch(/bad\.yaml:10: environment variable API_TOKEN \(for header Authorization\) is not set/);
  });

  test('an unknown sql connection and an MCP package that is not installed', () => {
    expect(
      thrown(() =>
        load(
          'tools:\n  - name: q\n    kind: sql\n    description: x\n    side_effect: read\n    connection: nope\n    allow_select: true\n',
        ),
      ).message,
    ).toMatch(/bad\.yaml:6: unknown connection "nope": define it under connections:/);
    expect(
      thrown(() => load("tools:\n  - name: m\n    kind: mcp\n    stdio:\n      package: '@acme/no-such-server'\n    expose: '*'\n"))
        .message,
    ).toMatch(/bad\.yaml:5: MCP server package "@acme\/no-such-server" is not installed/);
  });

  test('an unreachable MCP server fails discovery at start', async () => {
    const reg = load(
      "\n\ntools:\n  - name: gone\n    kind: mcp\n    http: { url: 'http://127.0.0.1:9/mcp' }\n    expose: '*'\n    connect_timeout_ms: 2000\n",
    );
    const err = await reg.discover().then(
      () => new Error('expected discovery to fail'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ToolConfigError);
    expect(err.message).toMatch(
      /bad\.yaml:4: MCP server gone did not answer tools\/list: .*Check its http\.url \(is the server up\?\), or remove the instance/,
    );
    await reg.close();
  });
});
