import type { Response } from 'express';
import type { Principal } from '../contracts/principal';

// What the middleware leaves in `res.locals`, read back with its type.

/** The authenticated caller (set by middleware/auth.ts). */
export const principal = (res: Response): Principal => res.locals.principal as Principal;

/** This request's id and trace id (set by middleware/request-context.ts). */
export const requestIds = (res: Response): { requestId: string; traceId: string } => ({
  requestId: res.locals.requestId as string,
  traceId: res.locals.traceId as string,
});
