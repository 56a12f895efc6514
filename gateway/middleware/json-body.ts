import express, { type RequestHandler } from 'express';
import { HttpProblem } from '../problem';

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

/** The JSON body of a write route: declared as JSON, at most `limit`, objects and arrays only. */
export function jsonBody(limit = '256kb'): RequestHandler[] {
  return [requireJson, express.json({ limit, strict: true, type: () => true })];
}
