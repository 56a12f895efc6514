// What a run's history costs: its events, its size, and the search attribute upserts and markers in it,
// per workflow task. The benchmark reports these and the lean-history tests assert on them.
import { temporal } from '@temporalio/proto';

const { EventType } = temporal.api.enums.v1;
type History = temporal.api.history.v1.IHistory;

/** One search attribute upsert: the workflow task it was written in and the attributes it set. */
export interface Upsert {
  task: number;
  attributes: Record<string, unknown>;
}

/** The numbers of one history. */
export interface HistoryStats {
  events: number;
  /** Encoded size of the history (protobuf), in bytes. */
  bytes: number;
  workflowTasks: number;
  upserts: Upsert[];
  /** Markers by the local activity or patch that wrote them (`patch` for every patch marker). */
  markers: Record<string, number>;
}

function decode(payload: temporal.api.common.v1.IPayload | null | undefined): unknown {
  if (!payload?.data) return null;
  const text = Buffer.from(payload.data).toString('utf8');
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/** Counts a history's events, bytes, workflow tasks, upserts (by task) and markers (by activity type). */
export function historyStats(history: History): HistoryStats {
  const events = history.events ?? [];
  const stats: HistoryStats = {
    events: events.length,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    workflowTasks: 0,
    upserts: [],
    markers: {},
  };
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) stats.workflowTasks += 1;
    const sa = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    if (sa) {
      const attributes = Object.fromEntries(Object.entries(sa).map(([k, v]) => [k, decode(v)]));
      stats.upserts.push({ task: stats.workflowTasks, attributes });
    }
    const marker = e.markerRecordedEventAttributes;
    if (marker) {
      const data = decode(marker.details?.data?.payloads?.[0]) as { activity_type?: string } | null;
      const name = marker.markerName === 'core_patch' ? 'patch' : (data?.activity_type ?? marker.markerName ?? 'marker');
      stats.markers[name] = (stats.markers[name] ?? 0) + 1;
    }
  }
  return stats;
}

/** The upserts a run's own code wrote (without the SDK's TemporalChangeVersion ones for patches). */
export function runUpserts(stats: HistoryStats): Upsert[] {
  return stats.upserts.filter((u) => !('TemporalChangeVersion' in u.attributes));
}
