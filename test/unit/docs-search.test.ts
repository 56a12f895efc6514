import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDocsSearchTool, passages, terms } from '../../activities/tools/docs-search';
import type { ToolDefinition } from '../../activities/tools/tool';

interface Hit {
  source: string;
  heading: string;
  excerpt: string;
  score: number;
}
interface Result {
  output: { hits: Hit[]; searched_files: number };
  evidence: { source: string; excerpt: string }[];
}

const GUIDE = [
  '# Guide', // 1
  '', // 2
  'The gateway accepts runs over HTTP.', // 3
  '', // 4
  '## Budgets', // 5
  '', // 6
  'Every run has a step budget', // 7
  'and a token budget; a run over budget fails.', // 8
].join('\n');

const RETRIES = [
  '# Retries', // 1
  '', // 2
  'Activities retry on failure: retry retry retry retry retry retry retry retry retry.', // 3
  '', // 4
  '## Timeouts', // 5
  '', // 6
  'Tool calls have a timeout and a retry budget.', // 7
].join('\n');

const LONG = `# Zoo\n\n${'zebra stripes are black and white. '.repeat(20).trim()}\n`;

let root: string;
let tool: ToolDefinition;
const ctx = { run_id: 'run-1', step: 2, signal: new AbortController().signal };
const search = async (query: string, limit?: number): Promise<Result> =>
  (await tool.execute(tool.input.parse({ query, limit }), ctx)) as Result;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'acp-docs-'));
  const docs = path.join(root, 'docs');
  mkdirSync(path.join(docs, 'ops'), { recursive: true });
  writeFileSync(path.join(docs, 'guide.md'), GUIDE);
  writeFileSync(path.join(docs, 'ops', 'retries.md'), RETRIES);
  writeFileSync(path.join(docs, 'long.md'), LONG);
  writeFileSync(path.join(docs, 'notes.txt'), 'zebra retry budget gateway');
  tool = createDocsSearchTool(docs, root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('docs_search', () => {
  test('ranks passages by distinct matching terms, then by frequency; sources point at the paragraph’s first line', async () => {
    const { output } = await search('retry budget');
    expect(output.hits.map((h) => [h.source, h.heading])).toEqual([
      ['docs/ops/retries.md#L7', 'Timeouts'], // retry + budget
      ['docs/ops/retries.md#L3', 'Retries'], // retry, many times
      ['docs/guide.md#L7', 'Budgets'], // budget (multi-line paragraph starting on line 7)
    ]);
    expect(output.hits[0]!.score).toBeGreaterThan(output.hits[1]!.score);
    expect(output.hits[1]!.score).toBeGreaterThan(output.hits[2]!.score);
    expect(output.hits[2]!.excerpt).toBe('Every run has a step budget and a token budget; a run over budget fails.');
  });

  test('searches only markdown files, nested folders included', async () => {
    const { output } = await search('gateway');
    expect(output.searched_files).toBe(3);
    expect(output.hits.map((h) => h.source)).toEqual(['docs/guide.md#L3']);
    expect(output.hits[0]!.heading).toBe('Guide');
  });

  test('respects the limit (default 3)', async () => {
    expect((await search('retry budget', 1)).output.hits.map((h) => h.source)).toEqual(['docs/ops/retries.md#L7']);
    expect((await search('run retry budget gateway timeout')).output.hits).toHaveLength(3);
    expect((await search('run retry budget gateway timeout', 10)).output.hits.length).toBeGreaterThan(3);
  });

  test('truncates long paragraphs to 400 characters', async () => {
    const { output } = await search('zebra');
    const [hit] = output.hits;
    expect(hit!.source).toBe('docs/long.md#L3');
    expect(hit!.excerpt).toHaveLength(400);
    expect(hit!.excerpt.endsWith('...')).toBe(true);
    expect(LONG).toContain(hit!.excerpt.slice(0, 397));
  });

  test('evidence mirrors the hits', async () => {
    const { output, evidence } = await search('retry budget');
    expect(evidence).toEqual(output.hits.map((h) => ({ source: h.source, excerpt: h.excerpt })));
  });

  test('no match, or only stop words: no hits', async () => {
    expect((await search('kubernetes helm')).output.hits).toEqual([]);
    expect((await search('how do I do it')).output.hits).toEqual([]);
    expect((await search('kubernetes')).evidence).toEqual([]);
  });

  test('its output passes its own output schema', async () => {
    for (const q of ['retry budget', 'zebra', 'kubernetes']) {
      expect(tool.output.safeParse((await search(q)).output).success).toBe(true);
    }
  });

  test('its input schema rejects an empty query, a blank query, limit 99 and unknown keys, and defaults limit to 3', () => {
    expect(tool.input.safeParse({ query: '' }).success).toBe(false);
    expect(tool.input.safeParse({ query: '   ' }).success).toBe(false);
    expect(tool.input.safeParse({ query: 'retry', limit: 99 }).success).toBe(false);
    expect(tool.input.safeParse({ query: 'retry', top: 2 }).success).toBe(false);
    expect(tool.input.parse({ query: ' retry ' })).toEqual({ query: 'retry', limit: 3 });
  });

  test('is a read-only tool', () => {
    expect(tool.name).toBe('docs_search');
    expect(tool.side_effect).toBe('read');
  });
});

describe('terms', () => {
  test('lower-cases, de-duplicates, and drops stop words and words under 3 characters', () => {
    expect(terms('How do I retry a FAILED run in the Gateway? Retry it, ok?')).toEqual(['retry', 'failed', 'run', 'gateway']);
    expect(terms('what is it to me')).toEqual([]);
  });
});

describe('passages', () => {
  test('splits on blank lines and headings, with 1-based first lines and the nearest heading', () => {
    expect(passages('f.md', 'before any heading\n\n# One\ntext under one\ncontinues\n\n### Three\n  indented  text  ')).toEqual([
      { file: 'f.md', line: 1, heading: '', text: 'before any heading' },
      { file: 'f.md', line: 4, heading: 'One', text: 'text under one continues' },
      { file: 'f.md', line: 8, heading: 'Three', text: 'indented text' },
    ]);
  });
});

test('a `# comment` inside a fenced code block is not a heading', () => {
  const md = '# Setup\n\n```\n# install it\nnpm install\n```\n';
  const found = passages('f.md', md);
  expect(found.map((p) => p.heading)).toEqual(['Setup']);
  expect(found[0]!.text).toContain('# install it');
});
