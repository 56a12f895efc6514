import path from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../config/settings';
import { HttpProblem } from '../problem';
import { errors, ok, type RouteTable } from '../routes/declare';
import type { Principal } from '../../contracts/principal';
import { cookieOf, CSRF_HEADER, SESSION_COOKIE } from './session-auth';
import { csrfMatches, type SessionStore } from './sessions';

// From the project root, not __dirname: the build (dist/) compiles the .ts files but copies no assets.
/** What the session routes answer. */
const SessionSchema = z.object({
  principal: z.object({ subject: z.string(), tenant: z.string(), roles: z.array(z.string()) }),
  csrf_token: z.string(),
  expires_at: z.string(),
});

const STATIC_DIR = path.join(PROJECT_ROOT, 'gateway', 'ui', 'static');

/** No inline script or style, nothing from another origin, no framing. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

function securityHeaders(res: Response): void {
  res.set('Content-Security-Policy', CSP);
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Referrer-Policy', 'no-referrer');
}

function setCookie(req: Request, res: Response, value: string, maxAgeMs: number): void {
  res.cookie(SESSION_COOKIE, value, { httpOnly: true, secure: req.secure, sameSite: 'strict', path: '/', maxAge: maxAgeMs });
}

/**
 * The approver's page (static files under /ui/) and its session: POST /ui/session exchanges the
 * credential the request carries (checked by the gateway's own authenticate) for a session cookie;
 * GET /ui/session tells the page who it is and its CSRF token; POST /ui/session/end signs out.
 */
export function uiRoutes(table: RouteTable, sessions: SessionStore, authenticate: (req: Request) => Promise<Principal>): Router {
  const router = Router();
  const declare = (method: 'get' | 'post', p: string, summary: string, status: string, codes: number[]) =>
    table.registry.registerPath({ method, path: p, summary, responses: { [status]: ok(summary, SessionSchema), ...errors(...codes) } });
  declare('post', '/ui/session', "Exchange the request's credential for a session cookie of the approver's page", '201', [401]);
  declare('get', '/ui/session', "The page's session: principal and CSRF token", '200', [401]);
  declare('post', '/ui/session/end', 'Sign out (X-CSRF-Token required); 204', '204', [401, 403]);
  router.use('/ui', (_req, res, next) => {
    securityHeaders(res);
    next();
  });
  router.post('/ui/session', async (req, res) => {
    if (req.get('authorization') === undefined && req.get('x-api-key') === undefined)
      throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'Send the API key or JWT to exchange as Authorization: Bearer.');
    const principal = await authenticate(req);
    const s = sessions.create(principal);
    setCookie(req, res, s.id, sessions.ttlMs);
    res
      .set('Cache-Control', 'no-store')
      .status(201)
      .json({ principal, csrf_token: s.csrf, expires_at: new Date(s.expiresAt).toISOString() });
  });
  router.get('/ui/session', (req, res) => {
    const id = cookieOf(req, SESSION_COOKIE);
    const s = id ? sessions.get(id) : undefined;
    if (!s) throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'Not signed in, or the session expired or was revoked.');
    res
      .set('Cache-Control', 'no-store')
      .json({ principal: s.principal, csrf_token: s.csrf, expires_at: new Date(s.expiresAt).toISOString() });
  });
  router.post('/ui/session/end', (req, res) => {
    const id = cookieOf(req, SESSION_COOKIE);
    const s = id ? sessions.get(id) : undefined;
    if (!s) throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'Not signed in.');
    if (!csrfMatches(s, req.get(CSRF_HEADER)))
      throw new HttpProblem(403, 'csrf', 'CSRF token missing or wrong', `Signing out must send the session's ${CSRF_HEADER} header.`);
    sessions.revoke(s.id);
    setCookie(req, res, '', 0);
    res.status(204).end();
  });
  // Express matches /ui and /ui/ alike; only the bare one is sent to the folder.
  router.use((req, res, next) => (req.path === '/ui' ? res.redirect(301, '/ui/') : next()));
  // Assets change with the code: revalidate each time (ETag), so a deploy is seen at once, cheaply.
  router.use(
    '/ui',
    express.static(STATIC_DIR, { index: 'index.html', etag: true, setHeaders: (res) => res.set('Cache-Control', 'no-cache') }),
  );
  return router;
}
