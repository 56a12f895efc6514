import { hashApiKey, type ApiKeyEntry } from './auth';
import type { Principal } from '../contracts/principal';

/**
 * DEMO PRINCIPALS FOR `npm run dev` ONLY. Their keys are public (printed by `npm run dev` and listed
 * in the README), so only scripts/dev.ts loads them; `npm run start:gateway` never does.
 */
export const DEV_PRINCIPALS: readonly (Principal & { key: string; what: string })[] = [
  { key: 'dev-dispatcher-key', subject: 'dev-dispatcher', tenant: 'acme', roles: ['dispatcher'], what: 'dispatches runs in tenant acme' },
  { key: 'dev-approver-key', subject: 'dev-approver', tenant: 'acme', roles: ['approver'], what: 'approves tool calls in tenant acme' },
  {
    key: 'dev-admin-key',
    subject: 'dev-admin',
    tenant: 'acme',
    roles: ['admin', 'operator', 'dispatcher'],
    what: 'everything in tenant acme',
  },
  {
    key: 'dev-globex-key',
    subject: 'dev-globex',
    tenant: 'globex',
    roles: ['dispatcher'],
    what: 'dispatches runs in another tenant, globex',
  },
];

/** The demo principals as API-key entries (hashes only, as production configuration holds them). */
export function devApiKeys(): ApiKeyEntry[] {
  return DEV_PRINCIPALS.map(({ key, subject, tenant, roles }) => ({ sha256: hashApiKey(key), subject, tenant, roles }));
}
