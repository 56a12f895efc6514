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
