import type { AgentRegistry } from '../agents/registry';
import { RunRequestSchema, type RunRequest, type WorkRequest } from '../contracts/run';
import { HttpProblem, validationProblem } from './problem';

// The founding blueprint's WorkRequest as a RunRequest: which agent an intent goes to, and the run it
// asks for. No Express here: POST /gateway/dispatch hands it the parsed body.

/**
 * The agent of a WorkRequest: payload.agent when given, else the first agent whose `intents` include a
 * word of the intent; a 404 listing each agent's intents when none does.
 */
export function agentForIntent(agents: AgentRegistry, work: WorkRequest): string {
  if (typeof work.payload.agent === 'string') return work.payload.agent;
  const words = new Set(work.intent.toLowerCase().match(/[a-z0-9_-]+/g) ?? []);
  const intentsOf = (name: string) => agents.resolve(name).definition.intents;
  const agent = agents.list().find((a) => intentsOf(a.name).some((i) => words.has(i)))?.name;
  if (agent) return agent;
  throw new HttpProblem(404, 'unknown-agent', 'No agent for this intent', `No agent handles the intent ${JSON.stringify(work.intent)}.`, {
    available: agents.list().map((a) => ({ name: a.name, intents: intentsOf(a.name) })),
  });
}

/**
 * The RunRequest a WorkRequest stands for: its payload's fields as in POST /v1/runs (the task defaults to
 * the intent). The payload is free-form in the WorkRequest's schema, so this is where it is checked:
 * a 400 whose field paths start with `payload`.
 */
export function runRequestFor(agents: AgentRegistry, work: WorkRequest): RunRequest {
  const { payload } = work;
  const run = RunRequestSchema.safeParse({
    agent: agentForIntent(agents, work),
    task: typeof payload.task === 'string' ? payload.task : work.intent,
    context: payload.context ?? {},
    ...(payload.constraints !== undefined ? { constraints: payload.constraints } : {}),
    ...(payload.output_spec !== undefined ? { output_spec: payload.output_spec } : {}),
  });
  if (!run.success) throw validationProblem(run.error, { prefix: 'payload' });
  return run.data;
}
