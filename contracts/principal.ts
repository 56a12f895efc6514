// The caller, declared once: the gateway authenticates one, the policy decides over one, and a run
// records narrower views of one (its initiator, an approver, an operator), so a field added to who is
// calling cannot miss a copy.
import { z } from 'zod';

/** Who is calling: a subject, its tenant and its roles, always from the credential, never from a body. */
export const PrincipalSchema = z.object({
  subject: z.string(),
  tenant: z.string(),
  /** What the principal may do, as the policy and the gateway's role checks read them. */
  roles: z.array(z.string()),
});
export type Principal = z.infer<typeof PrincipalSchema>;

/**
 * Who asked for a run, as its input records it; comes from the credential, never from the body. Roles
 * are optional because the committed histories of runs started before they were recorded have none.
 */
export const InitiatorSchema = PrincipalSchema.partial({ roles: true });
export type Initiator = z.infer<typeof InitiatorSchema>;

/** A principal as a workflow update carries it (an approver, an operator): who, and with which roles; the run's tenant is its own. */
export const ActorSchema = PrincipalSchema.pick({ subject: true, roles: true });
export type Actor = z.infer<typeof ActorSchema>;
