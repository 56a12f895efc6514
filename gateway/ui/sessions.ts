import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../contracts/principal';

/** One signed-in browser: the principal its credential proved, and the CSRF token bound to it. */
export interface Session {
  id: string;
  csrf: string;
  principal: Principal;
  expiresAt: number;
}

const token = () => randomBytes(32).toString('base64url');

/**
 * Sessions of the approver's page, in this gateway's memory. Why memory: a session only stands in for
 * a credential the gateway already accepts, so losing them (restart) costs a sign-in, nothing more.
 * With several replicas a session is known only to the replica that made it: route /ui/ and the API
 * calls of a browser to one replica (sticky sessions) or move this store to Redis (same interface).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    readonly ttlMs = 30 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session for the principal, expiring after the TTL. */
  create(principal: Principal): Session {
    this.sweep();
    const s: Session = { id: token(), csrf: token(), principal, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session of this id; undefined when unknown (forged), expired or revoked. */
  get(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  /** Ends a session at once (sign-out, or an operator revoking it). */
  revoke(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(id);
  }
}

/** Constant-time comparison of a sent CSRF token with the session's. */
export function csrfMatches(session: Session, sent: string | undefined): boolean {
  if (!sent) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}
