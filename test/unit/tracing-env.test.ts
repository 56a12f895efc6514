import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { tracer, tracingEnabled, tracingFromEnv } from '../../observability/tracing';

// Tracing follows the standard OTEL_* variables: off (nothing installed) without an endpoint, OTLP over
// HTTP to the endpoint's /v1/traces when it is set, with the service name and redaction applied.

test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is installed and spans are no-ops', () => {
  expect(tracingFromEnv({}, 'acp-test')).toBeUndefined();
  expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }, 'acp-test')).toBeUndefined();
  expect(tracingEnabled()).toBe(false);
  const span = tracer().startSpan('nothing');
  expect(span.isRecording()).toBe(false);
  span.end();
});

test('with an endpoint, spans reach a local OTLP/HTTP receiver at /v1/traces, redacted', async () => {
  const received: { url: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tracing = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, 'acp-otlp-test')!;
  try {
    expect(tracingEnabled()).toBe(true);
    const span = trace.getTracer('t').startSpan('otlp-check', { attributes: { note: 'called with Bearer abcdefgh12345678' } });
    span.end();
    await tracing.forceFlush();
    expect(received.map((r) => r.url)).toEqual(['/v1/traces']);
    const body = received[0]!.body;
    expect(body).toContain('otlp-check');
    expect(body).toContain('acp-otlp-test');
    expect(body).not.toContain('abcdefgh12345678');
  } finally {
    await tracing.shutdown();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  expect(tracingEnabled()).toBe(false);
});
