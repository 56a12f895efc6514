import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import type { AgentRunOutput, ListRunsQuery, RunState } from '../../contracts/run';
import { RUN_ID } from '../../contracts/vocabulary';
import { RunSearchAttributes } from '../../contracts/run-search-attributes';
import { stateQuery } from '../../workflows/messages';
import { HttpProblem } from '../problem';
import { isInvalidArgument, queryFailure, runNotFound, type QueryFailure } from './errors';
import { AGENT_RUN } from '../../shared/run-start';
import { pendingApprovalsQuery, listQuery, summaryOf, type RunSummary } from './visibility';

/** A run the caller may see: its handle and its description. */
export interface VisibleRun {
  handle: WorkflowHandle;
  desc: WorkflowExecutionDescription;
}

/** The outcome of a state query: the state, or why there is none. */
export type StateAnswer = { state: RunState } | { failure: QueryFailure };

/** The output of a closed run and, for one that failed, its error. */
export interface ClosedOutput {
  out?: AgentRunOutput;
  error?: { type: string; message: string };
}

/** The gateway's reading side of Temporal: describe, query, result and list runs of one namespace. */
export class RunStore {
  constructor(
    readonly client: Client,
    /** How long a state query waits for a worker to answer. */
    private readonly queryTimeoutMs = 5000,
  ) {}

  get namespace(): string {
    return this.client.options.namespace;
  }

  /** Describes a run of `tenant`; another tenant's run is a 404, exactly like a missing one. */
  async visible(runId: string, tenant: string): Promise<VisibleRun> {
    if (!RUN_ID.test(runId)) throw runNotFound(runId);
    const handle = this.client.workflow.getHandle(runId);
    let desc: WorkflowExecutionDescription;
    try {
      desc = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw runNotFound(runId);
      throw err;
    }
    if (desc.type !== AGENT_RUN || desc.typedSearchAttributes.get(RunSearchAttributes.tenant) !== tenant) throw runNotFound(runId);
    return { handle, desc };
  }

  /** The description of a run by id, or undefined when there is none (idempotent dispatch). */
  async describe(runId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(runId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Asks a running run for its state, by the deadline (the query timeout from now by default). */
  queryState(handle: WorkflowHandle, deadline = Date.now() + this.queryTimeoutMs): Promise<RunState> {
    return this.client.withDeadline(deadline, () => handle.query(stateQuery));
  }

  /** The state, or why the run did not answer (sorted: no worker, or another failure). */
  async tryQueryState(handle: WorkflowHandle): Promise<StateAnswer> {
    const deadline = Date.now() + this.queryTimeoutMs;
    try {
      return { state: await this.queryState(handle, deadline) };
    } catch (err) {
      return { failure: queryFailure(err, Date.now() >= deadline) };
    }
  }

  /**
   * The output of a closed run: its result, or for a failed run the partial output the workflow put in
   * the failure's details, with the error.
   */
  async closedOutput(handle: WorkflowHandle): Promise<ClosedOutput> {
    try {
      return { out: (await handle.result()) as AgentRunOutput };
    } catch (err) {
      const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure) {
        const out = cause.details?.[0] as AgentRunOutput | undefined;
        return { ...(out ? { out } : {}), error: { type: cause.type ?? 'ApplicationFailure', message: cause.message } };
      }
      return { error: { type: cause?.name ?? 'Error', message: cause?.message ?? String(err) } };
    }
  }

  /** One page of a tenant's runs, newest first; a page token this API did not hand out for this query is a 400. */
  async list(q: ListRunsQuery, tenant: string): Promise<{ runs: RunSummary[]; next_page_token?: string }> {
    const query = listQuery(q, tenant);
    const nextPageToken = q.page_token ? openPageToken(q.page_token, query) : undefined;
    let page;
    try {
      page = await this.client.workflowService.listWorkflowExecutions({
        namespace: this.namespace,
        query,
        pageSize: q.page_size,
        nextPageToken,
      });
    } catch (err) {
      if (q.page_token && isInvalidArgument(err)) throw invalidPageToken();
      throw err;
    }
    const next = page.nextPageToken?.length ? sealPageToken(page.nextPageToken, query) : undefined;
    return { runs: (page.executions ?? []).map(summaryOf), next_page_token: next };
  }

  /** How many runs match a visibility query. */
  async count(query: string): Promise<number> {
    return Number((await this.client.workflowService.countWorkflowExecutions({ namespace: this.namespace, query })).count ?? 0);
  }

  /** Ids of the tenant's running runs (at most `max`) with an approval any of `keys` may decide. */
  async awaitingApproval(keys: string[], tenant: string, max: number): Promise<string[]> {
    const ids: string[] = [];
    for await (const wf of this.client.workflow.list({ query: pendingApprovalsQuery(keys, tenant), pageSize: 50 })) {
      if (ids.length >= max) break;
      ids.push(wf.workflowId);
    }
    return ids;
  }
}

// Temporal's visibility page token is opaque bytes, and the server answers a made-up one with an
// UNKNOWN error the client retries until the deadline, which looked like an outage. So the API hands
// out the token sealed with a digest of itself and of the query it pages (a token is only valid for
// that query), and a token whose digest does not match is refused before Temporal sees it.
const SEAL_BYTES = 16;
const seal = (token: Uint8Array, query: string) =>
  createHash('sha256').update('acp-page-token\n').update(query).update('\n').update(token).digest().subarray(0, SEAL_BYTES);

const invalidPageToken = () =>
  new HttpProblem(400, 'invalid-page-token', 'Invalid page_token', 'page_token is not one this API returned for this query.', {
    errors: [{ path: 'page_token', message: 'must be the next_page_token of a previous page of the same query' }],
  });

/** The API's page token for Temporal's: the digest, then the token, in base64url. */
export function sealPageToken(token: Uint8Array, query: string): string {
  return Buffer.concat([seal(token, query), token]).toString('base64url');
}

/** Temporal's page token out of the API's, or a 400 when it was not sealed by sealPageToken for this query. */
export function openPageToken(text: string, query: string): Buffer {
  const bytes = Buffer.from(text, 'base64url');
  const token = bytes.subarray(SEAL_BYTES);
  if (bytes.length <= SEAL_BYTES || !seal(token, query).equals(bytes.subarray(0, SEAL_BYTES))) throw invalidPageToken();
  return token;
}
