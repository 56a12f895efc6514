// OpenTelemetry tracing of the platform: one trace from the gateway's HTTP request through the Temporal
// client, the workflow and every activity. Off unless installed; installTracing is what the entry points
// (OTEL_EXPORTER_OTLP_ENDPOINT), the tests (an in-memory exporter) and the benchmark call.
import { context, propagation, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ExportResult } from '@opentelemetry/core';
import { asyncLocalStorage as activityStore } from '@temporalio/activity';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import type { ClientInterceptors } from '@temporalio/client';
import { otlpProtocol, otlpTraceExporter, ReportingExporter, type ExportLog } from './otlp';
import { redact } from './redact';

/** The platform's attributes on every span of a run (also carried as W3C baggage between processes). */
export const RunAttr = {
  runId: 'acp.run_id',
  agent: 'acp.agent.name',
  agentVersion: 'acp.agent.version',
  tenant: 'acp.tenant',
} as const;

/** The tracer the platform's own spans (HTTP server, model and tool calls) come from. */
export const tracer = () => trace.getTracer('agent-control-plane');

export interface TracingOptions {
  /** Where finished spans go: an OTLP exporter, an in-memory exporter in tests, anything else. */
  exporter: SpanExporter;
  /** The resource's service.name (OTEL_SERVICE_NAME wins when set). */
  serviceName?: string;
  /** Batch spans before export (the default); tests export each span at once. */
  batch?: boolean;
}

/** Tracing as installed: flush and shut it down (which also uninstalls it). */
export interface Tracing {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

interface Installed {
  processor: SpanProcessor;
  resource: Resource;
}
let installed: Installed | undefined;

/** Whether tracing is installed in this process. */
export const tracingEnabled = (): boolean => installed !== undefined;

/**
 * Installs the process's tracer provider with the given exporter: AsyncLocalStorage context, W3C
 * trace-context and baggage propagation, the run attributes on every span and redacted attributes on
 * export. Returns how to flush and uninstall it. One installation per process at a time.
 */
export function installTracing(options: TracingOptions): Tracing {
  if (installed) throw new Error('tracing is already installed in this process; shut the first one down');
  const resource = new Resource({ 'service.name': options.serviceName ?? 'agent-control-plane' }).merge(envDetectorSync.detect());
  const exporter = new RedactingExporter(options.exporter);
  const processor = options.batch === false ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new RunAttributesProcessor(), processor] });
  provider.register();
  installed = { processor, resource };
  return {
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      installed = undefined;
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * Tracing as the standard OTEL_* variables ask: OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * its _TRACES_ form) is set and OTEL_SDK_DISABLED is not true, protobuf unless the protocol variables
 * say `http/json`; otherwise nothing is installed. Failed exports are logged to `log`, once per streak.
 * Throws TracingConfigError for a protocol it cannot speak (`grpc`), before anything is installed.
 */
export function tracingFromEnv(env: Record<string, string | undefined>, serviceName: string, log: ExportLog): Tracing | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url) return undefined;
  const protocol = otlpProtocol(env);
  // `k=v,k2=v2`, URL-encoded, as the OTLP exporter specification writes OTEL_EXPORTER_OTLP_HEADERS.
  const headers = Object.fromEntries(
    (env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS ?? '')
      .split(',')
      .map((pair) => pair.split('='))
      .filter((kv): kv is [string, string] => kv.length >= 2 && kv[0]!.trim() !== '')
      .map(([k, ...v]) => [decodeURIComponent(k.trim()), decodeURIComponent(v.join('=').trim())]),
  );
  const otlp = otlpTraceExporter(protocol, url, headers);
  const exporter = new ReportingExporter(otlp, log, { url, protocol });
  return installTracing({ exporter, serviceName: env.OTEL_SERVICE_NAME ?? serviceName });
}

/**
 * The Temporal client's interceptors: a StartWorkflow (and update, query, cancel) span under the active
 * span, whose context travels to the workflow in the headers. With tracing off they make no-op spans.
 */
export function temporalClientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/** The run's attributes as a map (skipping unknown ones). */
export function runAttributes(run: { run_id?: string; agent?: string; agent_version?: string; tenant?: string }): Attributes {
  const out: Attributes = {};
  if (run.run_id) out[RunAttr.runId] = run.run_id;
  if (run.agent) out[RunAttr.agent] = run.agent;
  if (run.agent_version) out[RunAttr.agentVersion] = run.agent_version;
  if (run.tenant) out[RunAttr.tenant] = run.tenant;
  return out;
}

/**
 * Runs `fn` with the run's attributes on the active span and in the baggage, so every span started
 * inside (the client's, then the workflow's and the activities' across processes) carries them.
 */
export function withRunContext<T>(run: Parameters<typeof runAttributes>[0], fn: () => T): T {
  if (!installed) return fn();
  const attrs = runAttributes(run);
  trace.getActiveSpan()?.setAttributes(attrs);
  let bag = propagation.getBaggage(context.active()) ?? propagation.createBaggage();
  for (const [k, v] of Object.entries(attrs)) bag = bag.setEntry(k, { value: String(v) });
  return context.with(propagation.setBaggage(context.active(), bag), fn);
}

/** Copies the run attributes from the baggage of a span's parent context onto the span. */
class RunAttributesProcessor implements SpanProcessor {
  onStart(span: Span, parent: Context): void {
    const bag = propagation.getBaggage(parent);
    for (const key of Object.values(RunAttr)) {
      const entry = bag?.getEntry(key);
      if (entry) span.setAttribute(key, entry.value);
    }
    // A run started elsewhere (the Web UI, the CLI) has no baggage: an activity still knows its run.
    const activity = bag?.getEntry(RunAttr.runId) ? undefined : activityStore.getStore();
    const workflowId = activity?.info.workflowExecution?.workflowId;
    if (workflowId) span.setAttribute(RunAttr.runId, workflowId);
  }
  onEnd(): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/**
 * A failed span's attributes with `error.type` (OpenTelemetry's semantic conventions ask for it on every
 * failed span): the span's own, else the recorded exception's type, else `_OTHER`.
 */
function withErrorType(s: ReadableSpan): Attributes {
  if (s.status.code !== SpanStatusCode.ERROR || s.attributes['error.type'] !== undefined) return s.attributes;
  const thrown = s.events.findLast((e) => e.name === 'exception')?.attributes?.['exception.type'];
  return { ...s.attributes, 'error.type': typeof thrown === 'string' && thrown !== '' ? thrown : '_OTHER' };
}

/** A copy of a finished span whose attributes, event attributes and status message went through redact(). */
function redactedSpan(s: ReadableSpan): ReadableSpan {
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => s.spanContext(),
    ...(s.parentSpanId !== undefined ? { parentSpanId: s.parentSpanId } : {}),
    startTime: s.startTime,
    endTime: s.endTime,
    status: s.status.message !== undefined ? { ...s.status, message: redact(s.status.message) } : s.status,
    attributes: redact(withErrorType(s)),
    links: s.links,
    events: s.events.map((e) => (e.attributes ? { ...e, attributes: redact(e.attributes) } : e)),
    duration: s.duration,
    ended: s.ended,
    resource: s.resource,
    instrumentationLibrary: s.instrumentationLibrary,
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
  };
}

/** Redacts every span on its way out, so no exporter ever sees a secret. */
class RedactingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans.map(redactedSpan), done);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** What the workflow interceptors send through their sink: a span as plain data (their SerializableSpan). */
export interface WorkflowSpanData extends Omit<ReadableSpan, 'spanContext' | 'resource'> {
  spanContext: ReturnType<ReadableSpan['spanContext']> & { traceState?: unknown };
}

/**
 * Exports spans the workflow sandbox finished (the interceptors' `exporter` sink, which the SDK does not
 * call during replay, so a replayed workflow adds no duplicates), with the run's attributes added.
 * Dropped while tracing is off.
 */
export function exportWorkflowSpans(run: Parameters<typeof runAttributes>[0], spans: WorkflowSpanData[]): void {
  if (!installed) return;
  const { processor, resource } = installed;
  const attrs = runAttributes(run);
  for (const s of spans) {
    const { traceState, ...ctx } = s.spanContext;
    void traceState;
    const span: ReadableSpan = { ...s, attributes: { ...s.attributes, ...attrs }, spanContext: () => ctx, resource };
    processor.onEnd(span);
  }
}

/** Starts a span for work that already happened (an approval wait), under the given parent span. */
export function recordPastSpan(
  name: string,
  parent: { trace_id: string; span_id: string } | undefined,
  startMs: number,
  endMs: number,
  attributes: Attributes,
): void {
  if (!installed) return;
  const parentCtx = parent
    ? trace.setSpanContext(context.active(), { traceId: parent.trace_id, spanId: parent.span_id, traceFlags: 1, isRemote: true })
    : context.active();
  const span = tracer().startSpan(name, { startTime: startMs, attributes }, parentCtx);
  span.end(endMs);
}
