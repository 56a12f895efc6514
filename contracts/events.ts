// The run events watchers and webhooks receive (issue 22, docs/events.md): one shape, declared once.
import type { Sink, Sinks } from '@temporalio/workflow';
import { z } from 'zod';

/** Every event type; the terminal ones end a run's stream. */
export const RUN_EVENT_TYPES = [
  'run.started',
  'step.entered',
  'step.ended',
  'tool.started',
  'tool.ended',
  'approval.requested',
  'approval.decided',
  'usage',
  'model.delta',
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.taken_over',
] as const;
export const RunEventTypeSchema = z.enum(RUN_EVENT_TYPES);
export type RunEventType = z.infer<typeof RunEventTypeSchema>;

/** The events after which a run publishes nothing more. */
export const TERMINAL_EVENT_TYPES: readonly RunEventType[] = ['run.completed', 'run.failed', 'run.cancelled', 'run.taken_over'];

/** An event as the worker publishes it: `seq` is derived from the run's own state, so a retry repeats it. */
export const NewRunEventSchema = z.object({
  run_id: z.string().min(1),
  seq: z.number().int().nonnegative(),
  tenant: z.string().min(1),
  agent: z.string().min(1),
  type: RunEventTypeSchema,
  /** When it happened (the workflow's clock for workflow events), ISO 8601. */
  at: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type NewRunEvent = z.infer<typeof NewRunEventSchema>;

/** An event as stored and served: `id` is the tenant-wide resume point, `seq` the run's own. */
export const StoredRunEventSchema = NewRunEventSchema.extend({ id: z.number().int().positive(), stored_at: z.string() });
export type StoredRunEvent = z.infer<typeof StoredRunEventSchema>;

/**
 * Which events a reader wants. `types` entries are exact types or prefixes ending in `.*`
 * (`approval.*`); empty or absent means every type.
 */
export interface RunEventFilter {
  tenant: string;
  run_id?: string;
  agent?: string;
  types?: string[];
}

/**
 * The sink the agentRun workflow publishes its events through. A sink call is no workflow command and no
 * history event, and is not made during replay, so publishing (and any number of watchers) costs the run nothing.
 */
export interface RunEventSinks extends Sinks {
  runEvents: Sink & { publish(events: NewRunEvent[]): void };
}
