import type { Caller, Gateway } from './context';
import { HttpProblem } from './problem';

// Reloading the policy in force, audited either way. No Express here: POST /v1/policy/reload
// (gateway/routes/governance.ts) hands over the caller.

/** The 404 of a policy route on a gateway that has no policy. */
export const noPolicy = () => new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no policy configured.');

/**
 * Re-reads the policies folder for an admin. Runs already started keep the snapshot in their input;
 * new dispatches are decided by, and new runs started with, the new policy. A bad file changes
 * nothing: a 422 naming it, and the previous policy stays in force.
 */
export async function reloadPolicy(gw: Gateway, caller: Caller) {
  gw.authorize(caller, 'policy.reload');
  const policies = gw.policies;
  if (!policies) throw noPolicy();
  if (!policies.reloadable)
    throw new HttpProblem(404, 'not-found', 'Not found', 'This gateway was given its policy at start; it has no folder to reload from.');
  const outcome = policies.reload();
  const by = caller.principal.subject;
  if (!outcome.reloaded) {
    const detail = `${outcome.error}. The previous policy (${outcome.hash}) stays in force.`;
    await gw.audit(caller, {
      action: 'policy.reload',
      outcome: 'refused',
      reason: detail,
      details: { hash: outcome.hash, previous_hash: outcome.hash },
    });
    gw.deps.logger.warn('policy reload refused', { by, error: outcome.error, hash: outcome.hash });
    throw new HttpProblem(422, 'policy-invalid', 'Policy not reloaded', detail, { hash: outcome.hash, loaded_at: outcome.loaded_at });
  }
  const { hash, previous_hash, loaded_at, files } = outcome;
  await gw.audit(caller, {
    action: 'policy.reload',
    outcome: 'accepted',
    reason: hash === previous_hash ? 'policy reloaded, unchanged' : `policy reloaded from ${files.join(', ')}`,
    details: { hash, previous_hash, files },
  });
  gw.deps.logger.info('policy reloaded', { by, hash, previous_hash, files });
  return { hash, previous_hash, loaded_at, files };
}
