import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelProvider, PlanCallInfo } from '../activities/model/provider';
import { PlanResultSchema, type PlanRequest, type PlanResult } from '../contracts/run';
import { canonicalJson } from '../shared/canonical';

/**
 * A Plan step's request and result as a captured run recorded them in its history: one level above
 * the model cassettes (activities/model/cassettes.ts), so a run captured from production replays
 * whatever provider planned it, with the vendor unreachable.
 */
export interface PlanCassette {
  hash: string;
  request: Record<string, unknown>;
  result: PlanResult;
}

/** What identifies a Plan request: agent and version, step, task, context, observations, answer schema (not the run id). */
export function planRequestKey(req: PlanRequest): Record<string, unknown> {
  return JSON.parse(
    canonicalJson({
      agent: `${req.agent.definition.name}@${req.agent.definition.version}`,
      step: req.step,
      task: req.task,
      context: req.context,
      observations: req.observations,
      output_spec: req.output_spec,
    }),
  ) as Record<string, unknown>;
}

/** sha256 of the key's canonical JSON. */
export function planRequestHash(req: PlanRequest): string {
  return createHash('sha256')
    .update(canonicalJson(planRequestKey(req)))
    .digest('hex');
}

/** Writes one plan cassette to `dir`; returns its file. */
export function writePlanCassette(dir: string, req: PlanRequest, result: PlanResult): string {
  const hash = planRequestHash(req);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${hash.slice(0, 16)}.json`);
  const cassette: PlanCassette = { hash, request: planRequestKey(req), result };
  writeFileSync(file, `${JSON.stringify(cassette, null, 2)}\n`);
  return file;
}

/**
 * A provider that answers a Plan request from a plan cassette when one matches, and asks `inner`
 * otherwise. `dirFor(agent)` is the agent's plan-cassette folder.
 */
export class PlanCassetteProvider implements ModelProvider {
  constructor(
    private readonly inner: ModelProvider,
    private readonly dirFor: (agent: string) => string,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  async plan(req: PlanRequest, signal?: AbortSignal, info?: PlanCallInfo): Promise<PlanResult> {
    const file = path.join(this.dirFor(req.agent.definition.name), `${planRequestHash(req).slice(0, 16)}.json`);
    if (existsSync(file)) {
      const cassette = JSON.parse(readFileSync(file, 'utf8')) as PlanCassette;
      const result = PlanResultSchema.parse(cassette.result);
      return result.call ? { ...result, call: { ...result.call, cassette: 'replayed' } } : result;
    }
    return this.inner.plan(req, signal, info);
  }
}
