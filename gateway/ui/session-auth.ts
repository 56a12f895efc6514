import type { Request } from 'express';
import { HttpProblem } from '../problem';
import type { Principal } from '../../contracts/principal';
import { csrfMatches, type SessionStore } from './sessions';

export const SESSION_COOKIE = 'acp_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie of the request (no cookie-parser dependency for one name). */
export function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * The gateway's authenticate function with the page's session cookie as one more credential: a
 * request with the cookie gets the principal its sign-in proved (so every route checks roles and
 * tenant exactly as for an API key), and a state-changing one must also carry the session's CSRF
 * token. A request without the cookie goes to the credential check it always had.
 */
export function withSessions(
  sessions: SessionStore,
  authenticate: (req: Request) => Promise<Principal>,
): (req: Request) => Promise<Principal> {
  return async (req) => {
    const id = cookieOf(req, SESSION_COOKIE);
    if (id === undefined || req.get('authorization') !== undefined || req.get('x-api-key') !== undefined) return authenticate(req);
    const session = sessions.get(id);
    if (!session)
      throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'The session is unknown, expired or signed out: sign in again.');
    if (!SAFE.has(req.method) && !csrfMatches(session, req.get(CSRF_HEADER)))
      throw new HttpProblem(
        403,
        'csrf',
        'CSRF token missing or wrong',
        `A state-changing request with a session must send its ${CSRF_HEADER} header.`,
      );
    return session.principal;
  };
}
