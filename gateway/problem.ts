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
    { errors },
  );
}
