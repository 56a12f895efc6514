import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { rcompare, valid } from 'semver';
import { AgentDefinitionSchema, type AgentDefinition, type ResolvedAgent } from '../contracts/agent';
import { toolContract } from '../activities/model/tool-contracts';
import type { ToolRegistry } from '../activities/tools/registry';
import { readYamlFile } from '../config/yaml-file';
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

/** The agents this deployment can run, loaded from agents/<name>/agent.yaml (and agent@<version>.yaml). */
export class AgentRegistry {
  private readonly byName = new Map<string, ResolvedAgent[]>();

  constructor(agents: AgentDefinition[], tools: ToolRegistry) {
    for (const def of agents) {
      // The schema's pattern lets through a few strings semver.org forbids (1.0.0-01); semver cannot order those.
      if (!valid(def.version)) throw new AgentDefinitionError(`agent ${def.name}@${def.version}: version is not a semantic version`);
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
      // Each tool's contract (description, JSON Schema of its arguments) travels with the run: the model sees it.
      versions.push({
        definition: def,
        tools: Object.fromEntries(def.tools.map((t) => [t, { ...tools.spec(t), ...toolContract(tools.get(t)!) }])),
      });
      versions.sort((a, b) => rcompare(a.definition.version, b.definition.version));
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
        const { data: def, at } = readYamlFile(full, AgentDefinitionSchema, (message) => new AgentDefinitionError(message));
        const fileVersion = /^agent@(.+)\.ya?ml$/.exec(file)?.[1];
        if (fileVersion !== undefined && fileVersion !== def.version) {
          throw new AgentDefinitionError(`${at(['version'])}: version "${def.version}" does not match its file name (${file})`);
        }
        for (const key of ['input_schema', 'output_schema'] as const) {
          const schema = def[key];
          const problem = schema ? jsonSchemaProblem(schema) : undefined;
          if (problem) throw new AgentDefinitionError(`${at([key])}: ${key} is not a usable JSON Schema: ${problem}`);
        }
        if (def.name !== entry.name) {
          throw new AgentDefinitionError(`${at(['name'])}: name "${def.name}" does not match its folder "${entry.name}"`);
        }
        defs.push(def);
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
