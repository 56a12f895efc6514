import express, { type RequestHandler } from 'express';
import { HttpProblem } from '../problem';

/**
 * How deeply a JSON body may nest objects and arrays. No request of the API needs more than a few
 * levels; the bound keeps every walk over a body (schemas, hashes, redaction, diffs) far from the call
 * stack's limit, and is checked before any of them runs.
 */
export const MAX_JSON_DEPTH = 64;

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

/** Whether a parsed JSON value nests objects and arrays more than `max` deep (walked without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const member of Object.values(v)) if (member !== null && typeof member === 'object') pending.push([member, depth + 1]);
  }
  return false;
}

/** Refuses a parsed body that nests deeper than `max` (400 naming the limit). */
export function depthLimited(max = MAX_JSON_DEPTH): RequestHandler {
  return (req, _res, next) => {
    if (!nestsDeeperThan(req.body, max)) {
      next();
      return;
    }
    next(
      new HttpProblem(
        400,
        'json-too-deep',
        'JSON nested too deeply',
        `The request body nests objects and arrays more than ${max} levels deep.`,
        {
          max_depth: max,
        },
      ),
    );
  };
}

/** The JSON body of a write route: declared as JSON, at most `limit`, objects and arrays only, at most MAX_JSON_DEPTH deep. */
export function jsonBody(limit = '256kb'): RequestHandler[] {
  return [requireJson, express.json({ limit, strict: true, type: () => true }), depthLimited()];
}
