import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentDefinitionSchema, type AgentDefinition, type ResolvedAgent } from '../contracts/agent';
import type { ToolRegistry } from '../activities/tools/registry';
import { jsonSchemaProblem } from '../shared/output-spec';

/** An agent definition that cannot be loaded; the message names the agent file and the problem. */
export class AgentDefinitionError extends Error {
  override name = 'AgentDefinitionError';
}

/** No agent (or version) matches a reference; `available` lists what exists. */
export class UnknownAgentError extends Error {
  override name = 'UnknownAgentError';
  constructor(
    readonly ref: string,
    readonly available: string[],
  ) {
    super(`unknown agent "${ref}"; available: ${available.join(', ') || 'none'}`);
  }
}

/** Compares semantic versions (pre-releases sort before their release). */
export function compareSemver(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { nums: core.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}

/** The agents this deployment can run, loaded from agents/<name>/agent.yaml (and agent@<version>.yaml). */
export class AgentRegistry {
  private readonly byName = new Map<string, ResolvedAgent[]>();

  constructor(agents: AgentDefinition[], tools: ToolRegistry) {
    for (const def of agents) {
      const unknown = def.tools.filter((t) => !tools.get(t));
      if (unknown.length) {
        throw new AgentDefinitionError(
          `agent ${def.name}@${def.version} uses unknown tool(s): ${unknown.join(', ')} (known: ${tools.names().join(', ')})`,
        );
      }
      const versions = this.byName.get(def.name) ?? [];
      if (versions.some((v) => v.definition.version === def.version)) {
        throw new AgentDefinitionError(`agent ${def.name}@${def.version} is defined twice`);
      }
      versions.push({ definition: def, tools: Object.fromEntries(def.tools.map((t) => [t, tools.spec(t)])) });
      versions.sort((a, b) => compareSemver(b.definition.version, a.definition.version));
      this.byName.set(def.name, versions);
    }
  }

  /** Loads and validates every agent definition under dir; throws naming the first bad file. */
  static load(dir: string, tools: ToolRegistry): AgentRegistry {
    if (!existsSync(dir)) throw new AgentDefinitionError(`agents folder ${dir} does not exist`);
    const defs: AgentDefinition[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const folder = path.join(dir, entry.name);
      for (const file of readdirSync(folder)
        .filter((f) => /^agent(@[^/]+)?\.ya?ml$/.test(f))
        .sort()) {
        const full = path.join(folder, file);
        let raw: unknown;
        try {
          raw = parseYaml(readFileSync(full, 'utf8'));
        } catch (err) {
          throw new AgentDefinitionError(`${full}: not valid YAML: ${(err as Error).message}`);
        }
        const parsed = AgentDefinitionSchema.safeParse(raw);
        if (!parsed.success) {
          const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
          throw new AgentDefinitionError(`${full}: invalid agent definition: ${issues}`);
        }
        const fileVersion = /^agent@(.+)\.ya?ml$/.exec(file)?.[1];
        if (fileVersion !== undefined && fileVersion !== parsed.data.version) {
          throw new AgentDefinitionError(`${full}: version "${parsed.data.version}" does not match its file name (${file})`);
        }
        for (const key of ['input_schema', 'output_schema'] as const) {
          const schema = parsed.data[key];
          const problem = schema ? jsonSchemaProblem(schema) : undefined;
          if (problem) throw new AgentDefinitionError(`${full}: ${key} is not a usable JSON Schema: ${problem}`);
        }
        if (parsed.data.name !== entry.name) {
          throw new AgentDefinitionError(`${full}: name "${parsed.data.name}" does not match its folder "${entry.name}"`);
        }
        defs.push(parsed.data);
      }
    }
    return new AgentRegistry(defs, tools);
  }

  /** Resolves `name` (latest version) or `name@version`. */
  resolve(ref: string): ResolvedAgent {
    const [name = '', version] = ref.split('@', 2);
    const versions = this.byName.get(name);
    const found = versions && (version === undefined ? versions[0] : versions.find((v) => v.definition.version === version));
    if (!found) throw new UnknownAgentError(ref, this.refs());
    return found;
  }

  /** Every agent as name@version, newest first within a name. */
  refs(): string[] {
    return [...this.byName.values()].flatMap((vs) => vs.map((v) => `${v.definition.name}@${v.definition.version}`));
  }

  /** All agents with their versions, for GET /v1/agents. */
  list(): { name: string; latest: string; versions: string[]; owner: string; description: string; tools: string[] }[] {
    return [...this.byName.values()].map((vs) => {
      const latest = vs[0]!.definition;
      return {
        name: latest.name,
        latest: latest.version,
        versions: vs.map((v) => v.definition.version),
        owner: latest.owner,
        description: latest.description,
        tools: latest.tools,
      };
    });
  }
}
