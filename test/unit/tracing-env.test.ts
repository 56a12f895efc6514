import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { TracingConfigError, type ExportLog } from '../../observability/otlp';
import { installTracing, tracer, tracingEnabled, tracingFromEnv } from '../../observability/tracing';

// Tracing follows the standard OTEL_* variables: off (nothing installed) without an endpoint, OTLP over
// HTTP to the endpoint's /v1/traces when it is set (protobuf unless the protocol variables say JSON),
// with the service name and redaction applied, and a collector's refusal logged once per streak.

interface Received {
  url: string;
  contentType: string;
  body: Buffer;
}

/** A local OTLP/HTTP receiver; `answer` decides each export's status and body. */
async function receiver(answer: (r: Received) => { status: number; body: string } = () => ({ status: 200, body: '{}' })) {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { url: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) };
      received.push(r);
      const { status, body } = answer(r);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    received,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function capture(): ExportLog & { lines: { level: string; message: string; meta: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; meta: Record<string, unknown> }[] = [];
  return {
    lines,
    warn: (message, meta) => lines.push({ level: 'warn', message, meta }),
    info: (message, meta) => lines.push({ level: 'info', message, meta }),
  };
}

/** Installs tracing from `env`, ends one span per name with a flush after each, and shuts it down. */
async function exportSpans(env: Record<string, string>, names: string[], log: ExportLog = capture()): Promise<void> {
  const tracing = tracingFromEnv(env, 'acp-otlp-test', log)!;
  try {
    expect(tracingEnabled()).toBe(true);
    for (const name of names) {
      trace
        .getTracer('t')
        .startSpan(name, { attributes: { note: 'called with Bearer abcdefgh12345678' } })
        .end();
      await tracing.forceFlush();
    }
  } finally {
    await tracing.shutdown();
  }
  expect(tracingEnabled()).toBe(false);
}

test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is installed and spans are no-ops', () => {
  expect(tracingFromEnv({}, 'acp-test', capture())).toBeUndefined();
  expect(
    tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }, 'acp-test', capture()),
  ).toBeUndefined();
  expect(tracingEnabled()).toBe(false);
  const span = tracer().startSpan('nothing');
  expect(span.isRecording()).toBe(false);
  span.end();
});

test('by default spans go as OTLP/HTTP protobuf (the specification default) to /v1/traces, redacted', async () => {
  const r = await receiver();
  try {
    await exportSpans({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint }, ['otlp-check']);
  } finally {
    await r.close();
  }
  expect(r.received.map((x) => [x.url, x.contentType])).toEqual([['/v1/traces', 'application/x-protobuf']]);
  const body = r.received[0]!.body;
  // Protobuf keeps strings as UTF-8 bytes, but the body is not JSON.
  expect(body.includes('otlp-check')).toBe(true);
  expect(body.includes('acp-otlp-test')).toBe(true);
  expect(body.includes('abcdefgh12345678')).toBe(false);
  expect(() => JSON.parse(body.toString('utf8')) as unknown).toThrow();
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json sends JSON; the _TRACES_ form wins over it', async () => {
  const r = await receiver();
  try {
    await exportSpans({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, ['as-json']);
    await exportSpans(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      },
      ['as-protobuf'],
    );
  } finally {
    await r.close();
  }
  expect(r.received.map((x) => x.contentType)).toEqual(['application/json', 'application/x-protobuf']);
  const json = JSON.parse(r.received[0]!.body.toString('utf8')) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] };
  expect(json.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(['as-json']);
});

test('grpc and unknown protocols are a start-up error naming the variable, and nothing is installed', () => {
  const endpoint = 'http://127.0.0.1:1';
  expect(() => tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'x', capture())).toThrow(
    TracingConfigError,
  );
  expect(() =>
    tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, 'x', capture()),
  ).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported/);
  expect(() => tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, 'x', capture())).toThrow(
    /OTEL_EXPORTER_OTLP_PROTOCOL=thrift is not an OTLP protocol/,
  );
  expect(tracingEnabled()).toBe(false);
});

test('a collector that refuses the spans (415 to JSON) is logged once per streak with its answer, and the recovery too', async () => {
  // A protobuf-only receiver, as Arize Phoenix is: JSON gets 415 until it is told to accept.
  let accept = false;
  const r = await receiver((x) =>
    !accept && x.contentType === 'application/json'
      ? { status: 415, body: 'Unsupported Media Type: expected application/x-protobuf' }
      : { status: 200, body: '{}' },
  );
  const log = capture();
  const tracing = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'acp-415', log)!;
  try {
    for (const name of ['refused-1', 'refused-2', 'refused-3']) {
      trace.getTracer('t').startSpan(name).end();
      // The flush itself reports the failure to its caller; the log line is for everyone else.
      await expect(tracing.forceFlush()).rejects.toBeDefined();
    }
    accept = true;
    trace.getTracer('t').startSpan('accepted').end();
    await tracing.forceFlush();
  } finally {
    await tracing.shutdown();
    await r.close();
  }
  expect(r.received).toHaveLength(4);
  expect(log.lines).toEqual([
    {
      level: 'warn',
      message: 'trace export failed; spans are dropped until the collector accepts them again',
      meta: expect.objectContaining({
        endpoint: `${r.endpoint}/v1/traces`,
        protocol: 'http/json',
        status: 415,
        body: 'Unsupported Media Type: expected application/x-protobuf',
      }),
    },
    { level: 'info', message: 'trace export recovered', meta: { endpoint: `${r.endpoint}/v1/traces`, spans_lost: 3 } },
  ]);
});

test('every failed span leaves with error.type: its own, else the recorded exception type, else _OTHER', async () => {
  const exporter = new InMemorySpanExporter();
  const tracing = installTracing({ exporter, serviceName: 'acp-error-type', batch: false });
  try {
    const t = trace.getTracer('t');
    const own = t.startSpan('own', { attributes: { 'error.type': 'PolicyDenied' } });
    own.setStatus({ code: SpanStatusCode.ERROR });
    own.end();
    const thrown = t.startSpan('thrown');
    thrown.recordException(new TypeError('boom'));
    thrown.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    thrown.end();
    const bare = t.startSpan('bare');
    bare.setStatus({ code: SpanStatusCode.ERROR });
    bare.end();
    t.startSpan('fine').end();
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes['error.type']])).toEqual([
      ['own', 'PolicyDenied'],
      ['thrown', 'TypeError'],
      ['bare', '_OTHER'],
      ['fine', undefined],
    ]);
  } finally {
    await tracing.shutdown();
  }
});
