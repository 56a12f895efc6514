import { randomBytes, randomUUID } from 'node:crypto';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../observability/logger';
import type { GatewayMetrics } from '../../observability/metrics';
import { tracer, tracingEnabled } from '../../observability/tracing';
import type { Principal } from '../../contracts/principal';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** A W3C traceparent: version 00, a 32-hex trace id and a 16-hex parent id, neither all zeros, and flags. */
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The route template a request matched (`/v1/runs/:id`), or `unmatched`: a bounded metric label. */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/**
 * Gives every request an id (the caller's X-Request-Id when well-formed) and a trace id (the caller's
 * traceparent continues, or one starts; runs and audit rows carry it), logs one line when it ends and
 * counts it. With tracing installed the request runs inside an HTTP server span, whose trace the
 * Temporal client, the workflow and its activities continue.
 */
export function requestContext(logger: Logger, metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    const span = tracingEnabled()
      ? tracer().startSpan(
          `${req.method} ${req.path.split('/').slice(0, 3).join('/')}`,
          { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
          propagation.extract(context.active(), req.headers),
        )
      : undefined;
    const own = span?.spanContext();
    const traceId = own?.traceId ?? TRACEPARENT.exec(req.get('traceparent') ?? '')?.[1] ?? randomBytes(16).toString('hex');
    res.locals.traceId = traceId;
    res.set('traceparent', `00-${traceId}-${own?.spanId ?? randomBytes(8).toString('hex')}-01`);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(req);
      metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
      metrics.requestDuration.observe({ route, method: req.method }, seconds);
      if (res.statusCode === 429) metrics.rateLimited.inc({ route });
      if (span) {
        span.updateName(`${req.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      logger.info('request', {
        request_id: requestId,
        trace_id: traceId,
        ...(own ? { span_id: own.spanId } : {}),
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        latency_ms: Math.round(seconds * 1e6) / 1000,
        run_id: res.locals.runId as string | undefined,
        principal: (res.locals.principal as Principal | undefined)?.subject,
      });
    });
    if (span) context.with(trace.setSpan(context.active(), span), next);
    else next();
  };
}
