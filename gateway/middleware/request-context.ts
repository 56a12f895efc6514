import { randomBytes, randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../observability/logger';
import type { Principal } from '../principal';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** A W3C traceparent: version 00, a 32-hex trace id and a 16-hex parent id, neither all zeros, and flags. */
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when well-formed) and a trace id (the caller's
 * traceparent continues, or one starts; runs and audit rows carry it), and logs one line when it ends.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    const traceId = TRACEPARENT.exec(req.get('traceparent') ?? '')?.[1] ?? randomBytes(16).toString('hex');
    res.locals.traceId = traceId;
    res.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.info('request', {
        request_id: requestId,
        trace_id: traceId,
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        latency_ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        run_id: res.locals.runId as string | undefined,
        principal: (res.locals.principal as Principal | undefined)?.subject,
      });
    });
    next();
  };
}
