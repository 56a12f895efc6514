// The OTLP trace exporter the standard OTEL_EXPORTER_OTLP_* variables ask for, and a wrapper that says
// when a collector refuses the spans: the OTLP exporters only tell the OpenTelemetry diag logger, which
// nobody installs, so a receiver answering 415 to every export would lose every span without a word.
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { redact } from './redact';

/** The OTLP protocols the specification names; the first two are the ones this platform speaks. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Where a warning about failed exports goes (the process logger, or a test's capture). */
export interface ExportLog {
  warn(message: string, meta: Record<string, unknown>): void;
  info(message: string, meta: Record<string, unknown>): void;
}

/** A setting the tracing configuration cannot honour: start-up fails naming it. */
export class TracingConfigError extends Error {
  override name = 'TracingConfigError';
}

/**
 * The traces protocol: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else
 * `http/protobuf` (the specification's default). `grpc` and unknown values are refused at start-up.
 */
export function otlpProtocol(env: Record<string, string | undefined>): 'http/protobuf' | 'http/json' {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = (env[name] ?? '').trim();
  if (value === '') return 'http/protobuf';
  if (value === 'http/protobuf' || value === 'http/json') return value;
  if (value === 'grpc') {
    throw new TracingConfigError(
      `${name}=grpc is not supported (no OTLP/gRPC exporter is installed): use http/protobuf (the default) or http/json, ` +
        'against the collector’s OTLP/HTTP port (usually 4318)',
    );
  }
  throw new TracingConfigError(`${name}=${value} is not an OTLP protocol: use http/protobuf (the default) or http/json`);
}

/** The OTLP/HTTP trace exporter for the protocol. */
export function otlpTraceExporter(protocol: 'http/protobuf' | 'http/json', url: string, headers: Record<string, string>): SpanExporter {
  return protocol === 'http/json' ? new JsonTraceExporter({ url, headers }) : new ProtobufTraceExporter({ url, headers });
}

const EXCERPT = 300;

/** What the collector answered, as far as the exporter's error says: status code, body excerpt, message. */
function collectorAnswer(error: Error | undefined): Record<string, unknown> {
  if (!error) return { error: 'export failed' };
  const { code, data } = error as Error & { code?: unknown; data?: unknown };
  const body = typeof data === 'string' ? data : undefined;
  return {
    error: redact(error.message || error.name),
    ...(typeof code === 'number' ? { status: code } : {}),
    ...(body ? { body: redact(body.length > EXCERPT ? `${body.slice(0, EXCERPT)}…` : body) } : {}),
  };
}

/**
 * Logs the first failed export of a streak with the collector's answer, and the recovery with how
 * many spans the streak lost; exports in between fail quietly so a down collector is one line, not one per batch.
 */
export class ReportingExporter implements SpanExporter {
  private failing = false;
  private lost = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: ExportLog,
    private readonly target: { url: string; protocol: string },
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.FAILED) {
        this.lost += spans.length;
        if (!this.failing) {
          this.failing = true;
          this.log.warn('trace export failed; spans are dropped until the collector accepts them again', {
            endpoint: this.target.url,
            protocol: this.target.protocol,
            spans: spans.length,
            ...collectorAnswer(result.error),
          });
        }
      } else if (this.failing) {
        this.log.info('trace export recovered', { endpoint: this.target.url, spans_lost: this.lost });
        this.failing = false;
        this.lost = 0;
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
