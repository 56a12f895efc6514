/**
 * Failure types the platform raises as `ApplicationFailure.create({ type })`. Tests and callers match
 * on these, never on messages. Types listed in NON_RETRYABLE are failures a retry cannot fix.
 */
export enum ErrorCode {
  /** The model returned something that is not a valid plan action. */
  InvalidModelOutput = 'InvalidModelOutput',
  /** The model provider named by the agent is not configured on this worker. */
  ProviderUnavailable = 'ProviderUnavailable',
  /** A tool name the worker does not know. */
  ToolNotFound = 'ToolNotFound',
  /** The agent asked for a tool outside its allowlist. */
  ToolNotAllowed = 'ToolNotAllowed',
  /** Tool arguments failed the tool's input schema. */
  ToolInputInvalid = 'ToolInputInvalid',
  /** A tool returned data that fails its own output schema. */
  ToolOutputInvalid = 'ToolOutputInvalid',
  /** A per-run budget (steps, tokens, cost, time) ran out. */
  BudgetExceeded = 'BudgetExceeded',
  /** The model vendor could not be reached or answered 429/5xx; retrying may help. */
  ModelUnavailable = 'ModelUnavailable',
  /** The model vendor refused the credentials (401/403). */
  ModelAuthFailed = 'ModelAuthFailed',
  /** The model vendor refused the request as malformed (other 4xx). */
  ModelRequestInvalid = 'ModelRequestInvalid',
  /** The prompt is longer than the model's context window; a retry sends the same prompt. */
  ModelContextTooLong = 'ModelContextTooLong',
  /** Cassette replay found no recorded answer for this request (the prompt or settings changed). */
  ModelCassetteMiss = 'ModelCassetteMiss',
  /** The final result does not satisfy the caller's output_spec. */
  OutputSpecViolation = 'OutputSpecViolation',
  /** The policy denied a tool or model call. */
  PolicyDenied = 'PolicyDenied',
  /** The run was cancelled through the API. */
  Cancelled = 'Cancelled',
  /** A tool's circuit breaker is open: its backend failed repeatedly, so the call fails at once. */
  CircuitOpen = 'CircuitOpen',
  /** The run failed; details carry the partial output. */
  RunFailed = 'RunFailed',
}

/** Error types a retry cannot fix; activity retry policies list them as non-retryable. */
export const NON_RETRYABLE: readonly ErrorCode[] = [
  ErrorCode.InvalidModelOutput,
  ErrorCode.ProviderUnavailable,
  ErrorCode.ToolNotFound,
  ErrorCode.ToolNotAllowed,
  ErrorCode.ToolInputInvalid,
  ErrorCode.ToolOutputInvalid,
  ErrorCode.BudgetExceeded,
  ErrorCode.ModelAuthFailed,
  ErrorCode.ModelRequestInvalid,
  ErrorCode.ModelContextTooLong,
  ErrorCode.ModelCassetteMiss,
  ErrorCode.OutputSpecViolation,
  ErrorCode.PolicyDenied,
  ErrorCode.CircuitOpen,
];

/**
 * Why an approval or takeover update was refused by its validator. The run is untouched; the gateway
 * turns each into a definite HTTP answer for the approver.
 */
export enum DecisionError {
  /** The run has no approval with that id (404). */
  ApprovalNotFound = 'ApprovalNotFound',
  /** The approval was already decided or expired (409). */
  ApprovalNotPending = 'ApprovalNotPending',
  /** The decision was made on other arguments than the pending call's (409). */
  ArgsHashMismatch = 'ArgsHashMismatch',
  /** The caller is not among the approvers, or lacks an operator role for a takeover (403). */
  ApproverNotAllowed = 'ApproverNotAllowed',
  /** The approver already voted on this approval (409). */
  DuplicateVote = 'DuplicateVote',
  /** Edited arguments where none are allowed (400). */
  InvalidEdit = 'InvalidEdit',
  /** The run has ended or is ending (409). */
  RunNotActive = 'RunNotActive',
}
