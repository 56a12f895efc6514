// The ToolCall activity: the one tool path (tools/run.ts) inside a span and heartbeats, with what a
// workflow history can hold: evidence cut to size and large outputs kept in the blob store.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode } from '../contracts/errors';
import type { Evidence, ToolCallRequest, ToolCallResult } from '../contracts/run';
import type { WorkerMetrics } from '../observability/metrics';
import type { FileBlobStore } from './blob-store';
import { heartbeating } from './heartbeat';
import { observeToolCall } from './observed';
import type { ToolRegistry } from './tools/registry';
import { runTool } from './tools/run';

/** The default limit on a tool output kept in workflow history, in bytes of JSON. */
export const MAX_INLINE_OUTPUT_BYTES = 32 * 1024;
const MAX_EVIDENCE = 20;
const MAX_EXCERPT = 500;
const PREVIEW_CHARS = 2000;

/** What the tool activity needs: the tools, where large outputs go and from what size, and metrics. */
export interface ToolActivityDeps {
  tools: ToolRegistry;
  blobs: FileBlobStore;
  maxInlineOutputBytes: number;
  metrics: WorkerMetrics;
}

/** The first evidence items, each excerpt cut short: history keeps what a reviewer reads, not whole documents. */
function keptEvidence(evidence: Evidence[]): Evidence[] {
  return evidence.slice(0, MAX_EVIDENCE).map((e) => ({ source: e.source, excerpt: e.excerpt.slice(0, MAX_EXCERPT) }));
}

/** The tool activities: `callTool`. */
export function toolActivities({ tools, blobs, maxInlineOutputBytes, metrics }: ToolActivityDeps) {
  /** The output as history keeps it: itself, or a summary and a reference to the blob holding it. */
  async function keptOutput(req: ToolCallRequest, output: unknown): Promise<ToolCallResult['output']> {
    const json = JSON.stringify(output);
    const bytes = Buffer.byteLength(json);
    if (bytes <= maxInlineOutputBytes) return output;
    const ref = await blobs.put(json);
    Context.current().log.info('tool output stored out of history', { run_id: req.run_id, tool: req.tool, bytes, ref });
    return { truncated: true, ref, bytes, preview: json.slice(0, PREVIEW_CHARS) };
  }

  return {
    /** ToolCall: validates the arguments, runs the tool, validates what it returned. */
    async callTool(req: ToolCallRequest): Promise<ToolCallResult> {
      const ctx = Context.current();
      const tool = tools.get(req.tool);
      if (!tool) {
        throw ApplicationFailure.create({ type: ErrorCode.ToolNotFound, message: `unknown tool "${req.tool}"`, nonRetryable: true });
      }
      const started = Date.now();
      const { output, evidence } = await runTool(
        tool,
        req.args,
        { run_id: req.run_id, step: req.step, signal: ctx.cancellationSignal },
        (execute) => observeToolCall(req, tool, metrics, () => heartbeating(execute)),
      );
      ctx.log.info('tool called', {
        run_id: req.run_id,
        agent: req.agent.name,
        agent_version: req.agent.version,
        step: req.step,
        tool: req.tool,
        args: JSON.stringify(req.args).slice(0, 300),
        latency_ms: Date.now() - started,
      });
      return { output: await keptOutput(req, output), evidence: keptEvidence(evidence) };
    },
  };
}
