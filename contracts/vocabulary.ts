// The run's words, each declared once as a plain constant. Zod-free on purpose: the workflow bundle
// imports these values (the transition table lists the step types) and needs nothing else of zod;
// contracts/run.ts builds its schemas from them.

/** Step types of a run; the transition table (workflows/state-machine.ts) moves between them. */
export const STEP_TYPES = ['Plan', 'ToolCall', 'Validate', 'Decide', 'HumanApproval', 'RetryFallback', 'Complete', 'Fail'] as const;

/** How a run stands, as the API reports it (Temporal's execution status, in the API's words). */
export const RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out'] as const;

/** An Idempotency-Key header or a WorkRequest's task_id. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;

/** A run id (the Temporal workflow id): what the gateway makes, or `run-idem-…` from an idempotency key. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

// Roles the platform itself gives a meaning to (a policy may name any others). Each list is declared
// once: the gateway's role checks (gateway/authz.ts) and the workflow's takeover validator read them.

/** Roles that may take over any run by hand (the manual path that always exists) or cancel a run they did not start. */
export const OPERATOR_ROLES: readonly string[] = ['operator', 'admin'];
/** Roles that may dispatch a run when no policy decides (the gateway's fixed role checks). */
export const DISPATCHER_ROLES: readonly string[] = ['dispatcher', 'admin'];
/** Roles that may read the audit ledger and the policy's status. */
export const AUDITOR_ROLES: readonly string[] = ['auditor', 'admin'];
/** Roles that may reload the policy. */
export const ADMIN_ROLES: readonly string[] = ['admin'];
/** Who may decide an approval that a policy rule requires without naming its approvers. */
export const DEFAULT_APPROVER_ROLES: readonly string[] = ['approver'];
