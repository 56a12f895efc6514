import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { HttpProblem } from './problem';
import type { Principal } from '../contracts/principal';

/** An API key as configuration holds it: only the SHA-256 of the key, never the key. */
export interface ApiKeyEntry extends Principal {
  sha256: string;
}

export interface JwtSettings {
  /** HS256 shared secret, or... */
  secret?: string;
  /** ...the JWKS URL of the identity provider (RS256/ES256 keys). */
  jwksUrl?: string;
  issuer: string;
  audience: string;
  /** Claim holding the tenant (default `tenant`). */
  tenantClaim?: string;
  /** Claim holding the roles, an array of strings (default `roles`). */
  rolesClaim?: string;
}

export interface AuthSettings {
  apiKeys: ApiKeyEntry[];
  jwt?: JwtSettings;
}

/** The SHA-256 (hex) of an API key, the form configuration stores. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const unauthorized = (detail: string) => new HttpProblem(401, 'unauthorized', 'Unauthorized', detail);

/**
 * Turns a request's credential into a principal: an API key (`X-API-Key`, or `Authorization: Bearer`
 * with a key) looked up by its hash, or a JWT bearer token verified against a shared secret or a JWKS,
 * issuer and audience checked. The tenant always comes from the credential, never from the request.
 */
export class Authenticator {
  private readonly keys: Map<string, Principal>;
  private readonly jwtKey: Uint8Array | JWTVerifyGetKey | undefined;

  constructor(private readonly settings: AuthSettings) {
    this.keys = new Map(settings.apiKeys.map((k) => [k.sha256.toLowerCase(), { subject: k.subject, tenant: k.tenant, roles: k.roles }]));
    const jwt = settings.jwt;
    this.jwtKey = jwt?.secret ? new TextEncoder().encode(jwt.secret) : jwt?.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;
  }

  /** Adds a key at run time (tests and key rotation). */
  addKey(entry: ApiKeyEntry): void {
    this.keys.set(entry.sha256.toLowerCase(), { subject: entry.subject, tenant: entry.tenant, roles: entry.roles });
  }

  /** The request's principal; throws a 401 problem for a missing or invalid credential. */
  async authenticate(req: Request): Promise<Principal> {
    const apiKey = req.get('x-api-key');
    const authz = req.get('authorization');
    let bearer: string | undefined;
    if (authz !== undefined) {
      const m = /^Bearer +(\S+)$/i.exec(authz);
      if (!m) throw unauthorized('Authorization must be "Bearer <API key or JWT>".');
      bearer = m[1];
    }
    if (apiKey === undefined && bearer === undefined)
      throw unauthorized('Send an API key (X-API-Key or Authorization: Bearer) or a JWT bearer token.');
    if (bearer !== undefined && JWT_SHAPE.test(bearer)) return this.verifyJwt(bearer);
    return this.lookupKey((apiKey ?? bearer)!);
  }

  private lookupKey(key: string): Principal {
    const hash = Buffer.from(hashApiKey(key), 'hex');
    for (const [stored, principal] of this.keys) {
      const candidate = Buffer.from(stored, 'hex');
      if (candidate.length === hash.length && timingSafeEqual(candidate, hash)) return principal;
    }
    throw unauthorized('The API key is not valid.');
  }

  private async verifyJwt(token: string): Promise<Principal> {
    const jwt = this.settings.jwt;
    if (!jwt || !this.jwtKey) throw unauthorized('JWT bearer tokens are not accepted by this gateway.');
    let payload: Record<string, unknown>;
    try {
      const key = this.jwtKey;
      const verified =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, { issuer: jwt.issuer, audience: jwt.audience, algorithms: ['HS256', 'HS384', 'HS512'] })
          : await jwtVerify(token, key, { issuer: jwt.issuer, audience: jwt.audience });
      payload = verified.payload;
    } catch (err) {
      throw unauthorized(`The bearer token is not valid: ${err instanceof Error ? err.message : 'verification failed'}.`);
    }
    const tenant = payload[jwt.tenantClaim ?? 'tenant'];
    const roles = payload[jwt.rolesClaim ?? 'roles'] ?? [];
    if (typeof payload.sub !== 'string' || !payload.sub) throw unauthorized('The bearer token has no subject (sub).');
    if (typeof tenant !== 'string' || !tenant) throw unauthorized(`The bearer token has no ${jwt.tenantClaim ?? 'tenant'} claim.`);
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string'))
      throw unauthorized(`The ${jwt.rolesClaim ?? 'roles'} claim must be an array of strings.`);
    return { subject: payload.sub, tenant, roles };
  }
}
