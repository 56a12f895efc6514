import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createToolRegistry } from '../../activities/tools';
import { AgentDefinitionError, AgentRegistry, UnknownAgentError } from '../../agents/registry';
import { PROJECT_ROOT } from '../../config/settings';
import { thrown } from '../support/thrown';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-agents-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const tools = () => createToolRegistry({ docsDir: path.join(tmp, 'docs'), ticketsFile: path.join(tmp, 'tickets.jsonl') });

describe('the real agents/ folder', () => {
  // No agent here writes a ticket, and the store touches its file only on use: a path is enough.
  const registry = AgentRegistry.load(
    path.join(PROJECT_ROOT, 'agents'),
    createToolRegistry({
      docsDir: path.join(PROJECT_ROOT, 'docs'),
      ticketsFile: path.join(os.tmpdir(), 'acp-agents-unused-tickets.jsonl'),
    }),
  );

  test('resolves docs-researcher by name and by name@version, with its tools resolved', () => {
    const latest = registry.resolve('docs-researcher');
    expect(latest.definition.name).toBe('docs-researcher');
    expect(registry.resolve('docs-researcher@1.0.0')).toBe(latest);
    expect(latest.tools.docs_search).toMatchObject({ name: 'docs_search', side_effect: 'read' });
  });

  test.each(['no-such-agent', 'docs-researcher@9.9.9'])('%s is an UnknownAgentError listing what is available', (ref) => {
    const err = thrown(() => registry.resolve(ref));
    expect(err).toBeInstanceOf(UnknownAgentError);
    expect((err as UnknownAgentError).ref).toBe(ref);
    expect((err as UnknownAgentError).available).toContain('docs-researcher@1.0.0');
    expect(err.message).toContain('docs-researcher@1.0.0');
  });
});

/** A valid agent definition; override fields per test. */
function definition(name: string, version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    version,
    owner: 'team',
    description: `${name} ${version}`,
    model: { provider: 'scripted', name: 'script' },
    instructions: 'Do the thing.',
    tools: ['docs_search'],
    script: { steps: [{ tool: 'docs_search', args: { query: '{{task}}' } }], finish: { summary: 'done' } },
    ...extra,
  };
}

/** Writes agents/<folder>/<file> under the temp dir and returns its path. */
function write(folder: string, file: string, content: Record<string, unknown> | string): string {
  const full = path.join(tmp, 'agents', folder, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, typeof content === 'string' ? content : stringify(content));
  return full;
}
const load = () => AgentRegistry.load(path.join(tmp, 'agents'), tools());

describe('AgentRegistry.load on a temp agents folder', () => {
  test('several versions: the name resolves to the highest version, list() shows versions newest first', () => {
    write('helper', 'agent.yaml', definition('helper', '1.0.0'));
    write('helper', 'agent@1.9.0.yaml', definition('helper', '1.9.0'));
    write('helper', 'agent@1.10.0.yaml', definition('helper', '1.10.0'));
    write('helper', 'notes.yaml', 'not: an agent');
    write('helper', 'agent.yaml.bak', 'garbage: [');
    const registry = load();
    expect(registry.resolve('helper').definition.version).toBe('1.10.0');
    expect(registry.resolve('helper@1.9.0').definition.description).toBe('helper 1.9.0');
    expect(registry.list()).toEqual([
      {
        name: 'helper',
        latest: '1.10.0',
        versions: ['1.10.0', '1.9.0', '1.0.0'],
        owner: 'team',
        description: 'helper 1.10.0',
        tools: ['docs_search'],
      },
    ]);
    expect(registry.refs()).toEqual(['helper@1.10.0', 'helper@1.9.0', 'helper@1.0.0']);
  });

  test('an agent using an unknown tool is an error naming the agent and the tool', () => {
    write('helper', 'agent.yaml', definition('helper', '1.0.0', { tools: ['docs_search', 'shell_exec'] }));
    const err = thrown(load);
    expect(err).toBeInstanceOf(AgentDefinitionError);
    expect(err.message).toContain('helper@1.0.0');
    expect(err.message).toContain('shell_exec');
  });

  test.each([
    ['invalid YAML', 'name: [unclosed\n', 'not valid YAML'],
    ['a bad version string', definition('helper', '1.0'), 'version: must be a semantic version'],
    ['an unknown key', definition('helper', '1.0.0', { colour: 'blue' }), 'colour'],
    ['a script step using a tool not in its tools', definition('helper', '1.0.0', { tools: [] }), 'script.steps.0.tool'],
    ['a missing owner', { ...definition('helper', '1.0.0'), owner: undefined }, 'owner'],
  ])('%s is an AgentDefinitionError naming the file and the field', (_what, content, field) => {
    const file = write('helper', 'agent.yaml', content);
    const err = thrown(load);
    expect(err).toBeInstanceOf(AgentDefinitionError);
    expect(err.message).toContain(file);
    expect(err.message).toContain(field);
  });

  test('a name that does not match its folder is an error', () => {
    const file = write('helper', 'agent.yaml', definition('other', '1.0.0'));
    const err = thrown(load);
    expect(err).toBeInstanceOf(AgentDefinitionError);
    expect(err.message).toContain(file);
    expect(err.message).toContain('"other"');
  });

  test('the same version defined twice is an error', () => {
    write('helper', 'agent.yaml', definition('helper', '1.0.0'));
    write('helper', 'agent@1.0.0.yaml', definition('helper', '1.0.0'));
    const err = thrown(load);
    expect(err).toBeInstanceOf(AgentDefinitionError);
    expect(err.message).toContain('helper@1.0.0 is defined twice');
  });

  test('a missing agents folder is an error naming it', () => {
    expect(() => AgentRegistry.load(path.join(tmp, 'nope'), tools())).toThrow(`agents folder ${path.join(tmp, 'nope')} does not exist`);
  });
});

describe('versions are ordered by semver', () => {
  test('pre-releases sort before their release and compare their numbers numerically', () => {
    for (const v of ['1.0.0-rc.9', '1.0.0', '1.0.0-rc.10', '0.9.0', '1.0.0-rc.2'])
      write('helper', `agent@${v}.yaml`, definition('helper', v));
    const registry = load();
    expect(registry.list()[0]!.versions).toEqual(['1.0.0', '1.0.0-rc.10', '1.0.0-rc.9', '1.0.0-rc.2', '0.9.0']);
    expect(registry.resolve('helper').definition.version).toBe('1.0.0');
  });

  test('a version the schema lets through but semver.org forbids is refused, not mis-ordered', () => {
    write('helper', 'agent@1.0.0-01.yaml', definition('helper', '1.0.0-01'));
    const err = thrown(load);
    expect(err).toBeInstanceOf(AgentDefinitionError);
    expect(err.message).toBe('agent helper@1.0.0-01: version is not a semantic version');
  });
});

describe('problems in an agent file name the file and the line', () => {
  const text = (version: string, owner = 'team', name = 'helper') =>
    [
      `name: ${name}`,
      `version: ${version}`,
      `owner: ${owner}`,
      'description: d',
      'model: { provider: scripted, name: script }',
      'instructions: Do the thing.',
      'tools: [docs_search]',
      'script:',
      '  steps:',
      '    - tool: docs_search',
      '      args: { query: "{{task}}" }',
      '  finish: { summary: done }',
      '',
    ].join('\n');

  test.each([
    ['a schema problem', 'agent.yaml', text('1.0.0', '[a, b]'), ':3: owner: '],
    [
      'a step naming a tool the agent lacks',
      'agent.yaml',
      text('1.0.0').replace('tool: docs_search', 'tool: ticket_create'),
      ':10: script.steps.0.tool: ',
    ],
    [
      'YAML that does not parse',
      'agent.yaml',
      text('1.0.0').replace('tools: [docs_search]', 'tools: [docs_search'),
      ':8: not valid YAML: ',
    ],
    ['a version that differs from the file name', 'agent@2.0.0.yaml', text('1.0.0'), ':2: version "1.0.0" does not match'],
    ['a name that differs from the folder', 'agent.yaml', text('1.0.0', 'team', 'other'), ':1: name "other" does not match'],
  ])('%s', (_what, file, content, problem) => {
    const full = write('helper', file, content);
    const err = thrown(load);
    expect(err).toBeInstanceOf(AgentDefinitionError);
    expect(err.message.slice(0, full.length + problem.length)).toBe(full + problem);
  });
});

test('a versioned file whose version differs from its name is refused', () => {
  write('pinned', 'agent@1.0.0.yaml', definition('pinned', '1.0.1'));
  const err = thrown(load);
  expect(err).toBeInstanceOf(AgentDefinitionError);
  expect(err.message).toContain('agent@1.0.0.yaml');
});
