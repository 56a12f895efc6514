import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { toolContract } from '../../activities/model/tool-contracts';
import { AgentDefinitionSchema, type ResolvedAgent } from '../../contracts/agent';
import type { Observation, PlanRequest } from '../../contracts/run';
import { triageRequest } from './plan-fixtures';

// What the model-provider tests (test/unit/model-providers-*.test.ts) plan with: the "triager" agent
// with real tool contracts, an output_spec, a ticket observation, and the key the fake vendors expect.

/** The API key the provider tests send (and check never leaks). */
export const KEY = 'sk-test-0123456789abcdef';
const DocsArgs = z.object({ query: z.string().min(1).describe('What to look for'), limit: z.number().int().default(3) }).strict();
const TOOLS: ResolvedAgent['tools'] = {
  ticket_lookup: {
    name: 'ticket_lookup',
    side_effect: 'read',
    timeout_ms: 1000,
    max_attempts: 1,
    ...toolContract({ description: 'Look a ticket up by id.', input: z.object({ id: z.string() }) }),
  },
  docs_search: {
    name: 'docs_search',
    side_effect: 'read',
    timeout_ms: 1000,
    max_attempts: 1,
    ...toolContract({ description: 'Search the docs.', input: DocsArgs }),
  },
};
/** The output_spec every request carries. */
export const SPEC = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };

/** The triager agent on this model, with its tool contracts. */
export function agentFor(model: Record<string, unknown>, patch: Record<string, unknown> = {}): ResolvedAgent {
  const definition = AgentDefinitionSchema.parse({
    name: 'triager',
    version: '1.0.0',
    owner: 'support',
    description: 'Looks up a ticket, then searches the docs.',
    model: { pricing: { input_per_1k: 0.5, output_per_1k: 1.5 }, ...model },
    instructions: 'Triage the ticket. Cite the docs you used.',
    tools: ['ticket_lookup', 'docs_search'],
    ...patch,
  });
  return { definition, tools: TOOLS };
}
/** The triager on OpenAI's gpt-test at temperature 0.2. */
export const openaiAgent = agentFor({ provider: 'openai', name: 'gpt-test', temperature: 0.2 });
/** The triage Plan request of this agent with SPEC as its output_spec. */
export const request = (agent: ResolvedAgent, observations: Observation[] = []): PlanRequest => ({
  ...triageRequest(agent, observations),
  output_spec: SPEC,
});
/** A ticket_lookup observation of step 2. */
export const observation: Observation = {
  step: 2,
  tool: 'ticket_lookup',
  args: { id: '42' },
  output: { status: 'open', note: 'Run timed out after 600 s' },
  evidence: [],
};

/** The ApplicationFailure the plan rejects with (fails the test if it resolves or throws something else). */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await promise.then(
    () => new Error('expected the plan to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}
