import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { z } from 'zod';

/** One field-level validation problem: where in the body, and what is wrong. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * An HTTP error that renders as RFC 9457 problem+json. Thrown from handlers; the error middleware is
 * the one place that turns errors into responses.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    /** Short, stable slug; becomes the problem `type` URI. */
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

/** Turns a zod error into field errors with JSON-path-like locations, e.g. `constraints.max_steps`. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
}

/**
 * A 400 for input that failed its schema, listing every field at fault. `prefix` places the paths
 * inside a larger body (e.g. `payload`, `edited_args`); `title` names what was invalid.
 */
export function validationProblem(error: z.ZodError, options: { prefix?: string; title?: string } = {}): HttpProblem {
  const { prefix } = options;
  const errors = fieldErrors(error).map((e) => (prefix ? { ...e, path: e.path === '(body)' ? prefix : `${prefix}.${e.path}` } : e));
  return new HttpProblem(
    400,
    'validation-error',
    options.title ?? 'Request body is invalid',
    errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    {
      errors,
    },
  );
}

function send(res: Response, p: HttpProblem): void {
  res
    .status(p.status)
    .type('application/problem+json')
    .json({
      type: `urn:agent-control-plane:problem:${p.slug}`,
      title: p.title,
      status: p.status,
      detail: p.detail,
      instance: res.req.originalUrl,
      request_id: res.locals.requestId as string | undefined,
      ...p.extensions,
    });
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

/** Final error middleware: every error leaves as problem+json, never with a stack trace. */
export function problemHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    void _next;
    if (err instanceof HttpProblem) return send(res, err);
    const parsed = typeof err === 'object' && err !== null ? fromBodyParser(err) : undefined;
    if (parsed) return send(res, parsed);
    onUnexpected(err);
    send(
      res,
      new HttpProblem(
        500,
        'internal-error',
        'Internal error',
        'The gateway failed to handle the request; see its logs for this request id.',
      ),
    );
  };
}

/** 404 for routes that do not exist. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpProblem(404, 'not-found', 'Not found', `No route for ${req.method} ${req.path}.`));
};

/** Rejects bodies that are not declared as JSON before anything parses them. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    next(
      new HttpProblem(
        415,
        'unsupported-media-type',
        'Unsupported media type',
        `Send the body as application/json (got ${req.headers['content-type'] ?? 'no Content-Type'}).`,
      ),
    );
    return;
  }
  next();
};
