import type { PlanRequest, PlanResult } from '../../contracts/run';
import { estimateTokens, type ModelProvider } from './provider';

const PLACEHOLDER = /\{\{\s*(task|context\.[A-Za-z0-9_.-]+|evidence_count)\s*\}\}/g;

function lookup(path: string, req: PlanRequest, evidenceCount: number): string {
  if (path === 'task') return req.task;
  if (path === 'evidence_count') return String(evidenceCount);
  let value: unknown = req.context;
  for (const key of path.slice('context.'.length).split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

function fill(value: unknown, req: PlanRequest, evidenceCount: number): unknown {
  if (typeof value === 'string') return value.replace(PLACEHOLDER, (_m, p: string) => lookup(p, req, evidenceCount));
  if (Array.isArray(value)) return value.map((v) => fill(v, req, evidenceCount));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, req, evidenceCount)]));
  }
  return value;
}

/**
 * The scripted planner: a deterministic stand-in for an LLM, driven by the agent definition's
 * `script`. It makes the scripted tool calls in order, then finishes with a summary and the evidence
 * the tools returned. It needs no API key and no network, which is why it is the default provider;
 * it does not reason. Token counts are estimates (4 characters a token) of what it read and wrote.
 */
export class ScriptedPlanner implements ModelProvider {
  readonly name = 'scripted';

  async plan(req: PlanRequest): Promise<PlanResult> {
    const script = req.agent.definition.script;
    if (!script) throw new Error(`agent ${req.agent.definition.name} has no script for the scripted planner`);
    const evidence = req.observations.flatMap((o) => o.evidence);
    const next = script.steps[req.observations.length];
    const action = next
      ? {
          type: 'tool_call' as const,
          tool: next.tool,
          args: fill(next.args, req, evidence.length) as Record<string, unknown>,
          reason: `script step ${req.observations.length + 1} of ${script.steps.length}`,
        }
      : {
          type: 'final' as const,
          result: {
            summary: fill(script.finish.summary, req, evidence.length) as string,
            findings: evidence,
          },
          reason: 'script finished',
        };
    const prompt = JSON.stringify({ instructions: req.agent.definition.instructions, task: req.task, observations: req.observations });
    return {
      action,
      model: `scripted/${req.agent.definition.model.name}`,
      usage: { input_tokens: estimateTokens(prompt), output_tokens: estimateTokens(JSON.stringify(action)), cost_usd: 0 },
    };
  }
}
