import type { Request, RequestHandler } from 'express';
import { HttpProblem } from '../problem';
import type { Principal } from '../../contracts/principal';

/** Puts the caller's principal in `res.locals`; a 401 carries the Bearer challenge. */
export function authenticated(authenticate: (req: Request) => Promise<Principal>): RequestHandler {
  return async (req, res, next) => {
    try {
      res.locals.principal = await authenticate(req);
      next();
    } catch (err) {
      if (err instanceof HttpProblem && err.status === 401) res.set('WWW-Authenticate', 'Bearer realm="agent-control-plane"');
      next(err);
    }
  };
}
