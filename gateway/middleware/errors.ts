import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../../observability/logger';
import { redact } from '../../observability/redact';
import { HttpProblem } from '../problem';

/** Sends the problem, redacted: an error body never echoes a credential or a restricted value. */
function send(res: Response, p: HttpProblem): void {
  res
    .status(p.status)
    .type('application/problem+json')
    .json(
      redact({
        type: `urn:agent-control-plane:problem:${p.slug}`,
        title: p.title,
        status: p.status,
        detail: p.detail,
        instance: res.req.originalUrl,
        request_id: res.locals.requestId as string | undefined,
        ...p.extensions,
      }),
    );
}

/** Body-parser failures come as errors with a `type`; map them to problems. */
function fromBodyParser(err: { type?: string; status?: number; message?: string; limit?: number }): HttpProblem | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new HttpProblem(400, 'malformed-json', 'Malformed JSON', `The request body is not valid JSON: ${err.message ?? ''}`.trim());
    case 'entity.too.large':
      return new HttpProblem(
        413,
        'payload-too-large',
        'Payload too large',
        `The request body exceeds the limit of ${err.limit ?? '?'} bytes.`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem(415, 'unsupported-media-type', 'Unsupported media type', err.message ?? 'unsupported encoding');
    default:
      return undefined;
  }
}

/**
 * Final error middleware: every error leaves as problem+json, never with a stack trace. An unexpected
 * one is logged with its stack under the request id the 500 body names, so the caller's report and the
 * operator's log line meet.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    void _next;
    if (err instanceof HttpProblem) return send(res, err);
    const parsed = typeof err === 'object' && err !== null ? fromBodyParser(err) : undefined;
    if (parsed) return send(res, parsed);
    logger.error('unhandled error', {
      request_id: res.locals.requestId as string | undefined,
      method: req.method,
      path: req.originalUrl,
      error: err instanceof Error ? err.message : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    send(
      res,
      new HttpProblem(
        500,
        'internal-error',
        'Internal error',
        `The gateway failed to handle the request; look up request id ${String(res.locals.requestId)} in its logs.`,
      ),
    );
  };
}

/** 404 for routes that do not exist. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpProblem(404, 'not-found', 'Not found', `No route for ${req.method} ${req.path}.`));
};

/**
 * 405 with an `Allow` header for a known path called with a method it does not have. `methodsOf`
 * answers the declared methods of the path (none for an unknown path, which falls through to 404).
 */
export function methodNotAllowed(methodsOf: (path: string) => readonly string[]): RequestHandler {
  return (req, res, next) => {
    const methods = methodsOf(req.path);
    const allowed = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].sort();
    if (methods.length === 0 || allowed.includes(req.method)) {
      next();
      return;
    }
    res.set('Allow', allowed.join(', '));
    next(new HttpProblem(405, 'method-not-allowed', 'Method not allowed', `${req.path} answers ${allowed.join(', ')}, not ${req.method}.`));
  };
}
