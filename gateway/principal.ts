import type { Request } from 'express';

/** Who is calling: a subject, its tenant and its roles. */
export interface Principal {
  subject: string;
  tenant: string;
  roles: string[];
}

/** Turns a request into its principal. The gateway-security issue (#4) brings API keys and JWTs. */
export type PrincipalResolver = (req: Request) => Principal;

const TOKEN = /^[A-Za-z0-9._@:-]{1,128}$/;

/**
 * DEV STAND-IN, NOT AUTHENTICATION: believes the `X-Dev-Subject`, `X-Dev-Roles` (comma-separated) and
 * `X-Dev-Tenant` headers, so approvals and takeovers can be exercised before real authentication
 * (issue #4) exists. Without headers the caller is `anonymous` in tenant `default` with no roles.
 */
export const devHeaderPrincipal: PrincipalResolver = (req) => {
  const subject = req.get('x-dev-subject');
  const tenant = req.get('x-dev-tenant');
  const roles = (req.get('x-dev-roles') ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => TOKEN.test(r));
  return {
    subject: subject && TOKEN.test(subject) ? subject : 'anonymous',
    tenant: tenant && TOKEN.test(tenant) ? tenant : 'default',
    roles,
  };
};
