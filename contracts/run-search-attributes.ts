import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed keys of the custom search attributes every run carries. The names match temporal-dev.yaml,
 * which registers them; the gateway sets them at start and the workflow keeps RunState current.
 */
export const RunSearchAttributes = {
  agentName: defineSearchAttributeKey('AgentName', SearchAttributeType.KEYWORD),
  agentVersion: defineSearchAttributeKey('AgentVersion', SearchAttributeType.KEYWORD),
  tenant: defineSearchAttributeKey('Tenant', SearchAttributeType.KEYWORD),
  initiator: defineSearchAttributeKey('Initiator', SearchAttributeType.KEYWORD),
  runState: defineSearchAttributeKey('RunState', SearchAttributeType.KEYWORD),
  /** `role:<r>` and `subject:<s>` entries of whoever may decide a pending approval; empty otherwise. */
  pendingApprovers: defineSearchAttributeKey('PendingApprovers', SearchAttributeType.KEYWORD_LIST),
} as const;
