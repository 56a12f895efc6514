import { lookup, type LookupAddress } from 'node:dns';
import { ErrorCode } from '../../contracts/errors';
import { AdapterFailure } from '../../activities/tools/adapters/failures';
import { idempotencyKey } from '../../activities/tools/adapters/http';
import type { Resolver } from '../../activities/tools/adapters/ssrf';
import type { ToolRegistry } from '../../activities/tools/registry';
import { call, failureOf, localServer, logSink, registryFor, writeToolsDir } from '../support/tools';

// The http adapter against a real local HTTP server. Names ending in .test resolve through a test
// resolver: status.test to the local server (127.0.0.1, allowed explicitly), internal.test to a private
// address (never allowed).
const resolver: Resolver = (hostname, cb) => {
  const map: Record<string, LookupAddress[]> = {
    'status.test': [{ address: '127.0.0.1', family: 4 }],
    'internal.test': [{ address: '10.1.2.3', family: 4 }],
    'elsewhere.test': [{ address: '127.0.0.1', family: 4 }],
  };
  const found = map[hostname];
  if (found) cb(null, found);
  else lookup(hostname, { all: true }, cb);
};

let server: Awaited<ReturnType<typeof localServer>>;
// Another service on the same allowed private host: a redirect must not reach it by changing the port.
let otherPort: Awaited<ReturnType<typeof localServer>>;
let registry: ToolRegistry;
const sink = logSink();
let flaky = 0;
let down = true;

const status = {
  type: 'object',
  required: ['service', 'status'],
  properties: { service: { type: 'string' }, status: { enum: ['ok', 'degraded', 'down'] } },
};
const serviceArg = {
  type: 'object',
  required: ['service'],
  additionalProperties: false,
  properties: { service: { type: 'string', minLength: 1 } },
};

/** The tools file: one read tool per path of the status server, the redirect and resolution cases, two writes. */
function httpToolsYaml(port: number): string {
  const base = `http://status.test:${port}`;
  const tool = (name: string, path: string, extra = '') => `
  - name: ${name}
    kind: http
    description: reads ${path}
    side_effect: read
    method: GET
    url: '${base}/${path}/{service}'
    input_schema: ${JSON.stringify(serviceArg)}
    output_schema: ${JSON.stringify(status)}
    allow_hosts: [status.test, 127.0.0.1, 169.254.169.254, internal.test, localhost]
    allow_private_hosts: [status.test]
${extra.includes('timeout_ms') ? '' : '    timeout_ms: 500\n'}${extra}`;
  return `tools:
${tool('status_read', 'status', "    secret_headers: { Authorization: { env: STATUS_TOKEN, prefix: 'Bearer ' } }")}
${tool('slow_read', 'slow')}
${tool('flaky_read', 'flaky')}
${tool('down_read', 'down', '    breaker: { consecutive_failures: 2, half_open_after_ms: 300 }')}
${tool('missing_read', 'missing')}
${tool('bad_read', 'bad')}
${tool('big_read', 'big', '    max_response_bytes: 1000')}
${tool('loopback_redirect', 'to-loopback')}
${tool('metadata_redirect', 'to-metadata')}
${tool('same_redirect', 'to-same')}
${tool('port_redirect', 'to-other-port')}
  - name: host_from_argument
    kind: http
    description: the host is an argument, so an argument can make the URL invalid
    side_effect: read
    method: GET
    url: 'http://{service}:${port}/status/a'
    input_schema: ${JSON.stringify(serviceArg)}
${tool('single_file', 'slow', '    concurrency: 1\n    queue: 0\n    timeout_ms: 3000')}
  - name: internal_read
    kind: http
    description: a name that resolves to a private address
    side_effect: read
    method: GET
    url: 'http://internal.test:${port}/status/{service}'
    input_schema: ${JSON.stringify(serviceArg)}
  - name: localhost_read
    kind: http
    description: localhost, resolved by the system resolver
    side_effect: read
    method: GET
    url: 'http://localhost:${port}/status/{service}'
    input_schema: ${JSON.stringify(serviceArg)}
  - name: listed_only
    kind: http
    description: allow_hosts names only status.test; a redirect elsewhere is refused
    side_effect: read
    method: GET
    url: '${base}/to-elsewhere/{service}'
    input_schema: ${JSON.stringify(serviceArg)}
    allow_hosts: [status.test]
    allow_private_hosts: [status.test, elsewhere.test]
  - name: incident_moved
    kind: http
    description: a write whose endpoint answers with a redirect
    side_effect: write
    method: POST
    url: '${base}/moved'
    input_schema: { type: object, required: [title], properties: { title: { type: string } } }
    allow_private_hosts: [status.test]
  - name: incident_open
    kind: http
    description: opens an incident
    side_effect: write
    method: POST
    url: '${base}/incidents'
    input_schema: { type: object, required: [title], properties: { title: { type: string } } }
    allow_private_hosts: [status.test]
`;
}

beforeAll(async () => {
  otherPort = await localServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"service":"x","status":"ok"}'),
  );
  server = await localServer((req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    const json = (code: number, value: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    const [, kind, arg] = url.pathname.split('/');
    if (kind === 'status') return json(200, { service: arg, status: 'ok', auth: req.headers.authorization ?? null });
    if (kind === 'slow') return void setTimeout(() => json(200, { service: arg, status: 'ok' }), 1500);
    if (kind === 'flaky') return flaky++ === 0 ? json(503, { error: 'warming up' }) : json(200, { service: arg, status: 'ok' });
    if (kind === 'down') return down ? json(503, { error: 'down' }) : json(200, { service: arg, status: 'ok' });
    if (kind === 'missing') return json(404, { error: 'no such service' });
    if (kind === 'bad') return json(200, { service: arg, status: 'sideways' });
    if (kind === 'big') return json(200, { service: arg, status: 'ok', pad: 'x'.repeat(5000) });
    if (kind === 'to-loopback') return res.writeHead(302, { location: `http://127.0.0.1:${server.port}/status/${arg}` }).end();
    if (kind === 'to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (kind === 'to-other-port') return res.writeHead(302, { location: `http://status.test:${otherPort.port}/status/${arg}` }).end();
    if (kind === 'to-same') return res.writeHead(302, { location: `/status/${arg}` }).end();
    if (kind === 'to-elsewhere') return res.writeHead(302, { location: `http://elsewhere.test:${server.port}/status/${arg}` }).end();
    if (kind === 'moved') return res.writeHead(307, { location: `/incidents` }).end();
    if (kind === 'incidents') return json(201, { id: 'INC-1', key: req.headers['idempotency-key'], received: JSON.parse(body) as unknown });
    return json(500, { error: 'unexpected path' });
  });
  const dir = writeToolsDir({ 'http.yaml': httpToolsYaml(server.port) });
  registry = registryFor(dir, { env: { STATUS_TOKEN: 's3cret' }, resolver, logger: sink.logger });
});
afterAll(async () => {
  await registry.close();
  await server.close();
  await otherPort.close();
});

const hits = (prefix: string) => server.requests.filter((r) => r.url.startsWith(prefix)).length;

test('success: the JSON body comes back validated, with the secret header from the environment', async () => {
  const { output, evidence } = await call(registry, 'status_read', { service: 'checkout' });
  expect(output).toEqual({ service: 'checkout', status: 'ok', auth: 'Bearer s3cret' });
  expect(evidence[0]!.source).toBe(`http://status.test:${server.port}/status/checkout`);
  expect(registry.get('status_read')!.kind).toBe('http');
});

test('a timeout is a retryable failure naming the limit', async () => {
  const f = await failureOf(call(registry, 'slow_read', { service: 'a' }));
  expect(f.nonRetryable).toBeFalsy();
  expect(f.message).toMatch(/timed out after 500 ms/);
});

test('a 503 is retryable and the retry succeeds', async () => {
  const first = await failureOf(call(registry, 'flaky_read', { service: 'a' }));
  expect(first.nonRetryable).toBeFalsy();
  expect(first.message).toMatch(/answered 503/);
  await expect(call(registry, 'flaky_read', { service: 'a' })).resolves.toMatchObject({ output: { status: 'ok' } });
});

test('a 404 is a non-retryable HttpStatus failure', async () => {
  expect(await failureOf(call(registry, 'missing_read', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.HttpStatus,
    nonRetryable: true,
    message: expect.stringContaining('404'),
  });
});

test('the breaker opens after consecutive failures, fails fast with CircuitOpen, and recovers half-open', async () => {
  for (let i = 0; i < 2; i++) expect((await failureOf(call(registry, 'down_read', { service: 'a' }))).message).toMatch(/503/);
  const before = hits('/down');
  const open = await failureOf(call(registry, 'down_read', { service: 'a' }));
  expect(open).toMatchObject({ type: ErrorCode.CircuitOpen, nonRetryable: true });
  expect(hits('/down')).toBe(before);
  expect(sink.lines).toContainEqual(
    expect.objectContaining({
      level: 'warn',
      message: 'tool circuit breaker changed state',
      fields: expect.objectContaining({ tool: 'down_read', state: 'open' }),
    }),
  );
  down = false;
  await new Promise((r) => setTimeout(r, 350));
  await expect(call(registry, 'down_read', { service: 'a' })).resolves.toMatchObject({ output: { status: 'ok' } });
  expect(sink.lines.map((l) => l.fields.state)).toEqual(expect.arrayContaining(['open', 'halfopen', 'closed']));
});

test('arguments that fail the schema never reach the server', async () => {
  const before = server.requests.length;
  expect(await failureOf(call(registry, 'status_read', { service: '' }))).toMatchObject({
    type: ErrorCode.ToolInputInvalid,
    nonRetryable: true,
    message: expect.stringContaining('service'),
  });
  expect(await failureOf(call(registry, 'status_read', { service: 'a', extra: 1 }))).toMatchObject({ type: ErrorCode.ToolInputInvalid });
  expect(server.requests.length).toBe(before);
});

test('a malformed response fails the output schema with the path that broke', async () => {
  expect(await failureOf(call(registry, 'bad_read', { service: 'a' }))).toMatchObject({
    type: ErrorCode.ToolOutputInvalid,
    message: expect.stringContaining('status:'),
  });
});

test('a response over max_response_bytes is refused', async () => {
  expect(await failureOf(call(registry, 'big_read', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.ResponseTooLarge,
    nonRetryable: true,
  });
});

test('redirects are re-checked: to 127.0.0.1 and to 169.254.169.254 they are denied before any request is sent there', async () => {
  const before = hits('/status/looped');
  expect(await failureOf(call(registry, 'loopback_redirect', { service: 'looped' }))).toMatchObject({
    type: AdapterFailure.SsrfDenied,
    message: expect.stringContaining('127.0.0.1 is a loopback address'),
  });
  expect(hits('/status/looped')).toBe(before);
  expect(await failureOf(call(registry, 'metadata_redirect', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.SsrfDenied,
    message: expect.stringContaining('169.254.169.254 is a linkLocal address'),
  });
  await expect(call(registry, 'same_redirect', { service: 'b' })).resolves.toMatchObject({ output: { service: 'b' } });
});

test('a redirect may not change the port of an allow_private_hosts host: refused before any request is sent there', async () => {
  expect(await failureOf(call(registry, 'port_redirect', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.SsrfDenied,
    nonRetryable: true,
    message: expect.stringContaining(
      `redirected to status.test:${otherPort.port}: a redirect to an allow_private_hosts host must keep the configured port (${server.port})`,
    ),
  });
  expect(otherPort.requests).toHaveLength(0);
});

test('arguments that make an invalid URL are a non-retryable ToolInputInvalid, and nothing is sent', async () => {
  const before = server.requests.length;
  expect(await failureOf(call(registry, 'host_from_argument', { service: 'a b' }))).toEqual({
    type: ErrorCode.ToolInputInvalid,
    nonRetryable: true,
    message: expect.stringContaining('the arguments make an invalid URL: http://a%20b:'),
  });
  expect(server.requests.length).toBe(before);
});

test('a redirect to a host not in allow_hosts is denied before any request is sent there', async () => {
  const before = hits('/status/away');
  expect(await failureOf(call(registry, 'listed_only', { service: 'away' }))).toMatchObject({
    type: AdapterFailure.SsrfDenied,
    message: expect.stringContaining('host elsewhere.test is not in allow_hosts (status.test)'),
  });
  expect(hits('/status/away')).toBe(before);
});

test('a write is never re-sent to where a redirect points', async () => {
  const before = hits('/incidents');
  expect(await failureOf(call(registry, 'incident_moved', { title: 'disk full' }))).toMatchObject({
    type: AdapterFailure.HttpStatus,
    message: expect.stringContaining('redirects of writes are not followed'),
  });
  expect(hits('/incidents')).toBe(before);
});

test('a DNS name resolving to a private address is denied after resolution, before connecting', async () => {
  expect(await failureOf(call(registry, 'internal_read', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.SsrfDenied,
    message: expect.stringContaining('internal.test resolves to 10.1.2.3, a private address'),
  });
  const before = server.requests.length;
  expect(await failureOf(call(registry, 'localhost_read', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.SsrfDenied,
    message: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/),
  });
  expect(server.requests.length).toBe(before);
});

test('writes send an Idempotency-Key that is the same for every attempt of one step', async () => {
  const a = await call(registry, 'incident_open', { title: 'checkout down' }, 7, 'run-a');
  const again = await call(registry, 'incident_open', { title: 'checkout down' }, 7, 'run-a');
  const other = await call(registry, 'incident_open', { title: 'checkout down' }, 8, 'run-a');
  const keys = [a, again, other].map((r) => (r.output as { key: string }).key);
  expect(keys[0]).toBe(idempotencyKey('incident_open', { run_id: 'run-a', step: 7 }));
  expect(keys[1]).toBe(keys[0]);
  expect(keys[2]).not.toBe(keys[0]);
  expect((a.output as { received: unknown }).received).toEqual({ title: 'checkout down' });
});

test('the bulkhead refuses a call beyond the concurrency limit at once', async () => {
  const first = call(registry, 'single_file', { service: 'a' });
  const second = await failureOf(call(registry, 'single_file', { service: 'b' }));
  expect(second.message).toMatch(/concurrency limit \(1 running, 0 waiting\)/);
  await expect(first).resolves.toMatchObject({ output: { service: 'a' } });
});
