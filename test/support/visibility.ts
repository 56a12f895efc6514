import { eventually, http, type TestPlatform } from './platform';

/** The run a helper dispatches to read visibility up to "now": its body and credentials. */
export interface Sentinel {
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  /**
   * Runs the caller knows were started (a 202 answered for each). The dev server indexes visibility
   * records in parallel, so on a loaded machine the sentinel can show before an earlier run: the
   * listing is read again (up to the same deadline) until it holds all of these. A run missing for
   * good still fails the caller's comparison, and anything extra shows as well.
   */
  started?: readonly string[];
}

/**
 * The ids of the workflows visibility lists for `query`, read only once a sentinel run dispatched now
 * shows up in the same listing. Visibility is eventually consistent: an empty listing right after a
 * request proves nothing, but once the sentinel (started after everything the test sent) is indexed,
 * whatever those requests started is too. The query must match the sentinel; its id is left out.
 */
export async function workflowsAfterSentinel(platform: TestPlatform, query: string, sentinel: Sentinel = {}): Promise<string[]> {
  const res = await http(platform, 'POST', '/v1/runs', sentinel.body ?? { agent: 'docs-researcher', task: 'sentinel' }, sentinel.headers);
  if (res.status !== 202) throw new Error(`the sentinel run was refused (${res.status}): ${JSON.stringify(res.body)}`);
  const id = res.body.run_id as string;
  let last: string[] = [];
  const seen = await eventually(
    async () => {
      const ids: string[] = [];
      for await (const wf of platform.client.workflow.list({ query })) ids.push(wf.workflowId);
      last = ids;
      return ids.includes(id) && (sentinel.started ?? []).every((s) => ids.includes(s)) ? ids : undefined;
    },
    30_000,
    `the sentinel run ${id} to show in visibility`,
  ).catch((err: unknown) => {
    // The sentinel is there but a started run never showed: hand back the listing, so the caller's
    // comparison names the missing run instead of a timeout.
    if (last.includes(id)) return last;
    throw err;
  });
  return seen.filter((w) => w !== id);
}

/**
 * The workflows started on the platform's task queue since `since` (a time taken before the requests
 * under test), read after a sentinel run: `[]` proves those requests started nothing in Temporal.
 */
export function runsStartedSince(platform: TestPlatform, since: Date, sentinel: Sentinel = {}): Promise<string[]> {
  return workflowsAfterSentinel(platform, `TaskQueue = "${platform.taskQueue}" AND StartTime >= "${since.toISOString()}"`, sentinel);
}
