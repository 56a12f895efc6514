import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool, type ToolDefinition } from './tool';

const STOPWORDS = new Set(
  'a an and are as at be by can do does for from how i in is it its me my of on or the this to what when where which who why will with you your'.split(
    ' ',
  ),
);

/** Lower-case words of 3+ characters that are not stop words. */
export function terms(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[a-z0-9_]{2,}/g) ?? [])].filter((t) => t.length >= 3 && !STOPWORDS.has(t));
}

interface Passage {
  file: string;
  line: number;
  heading: string;
  text: string;
}

async function markdownFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Splits markdown into paragraphs, each with its line number and nearest heading. */
export function passages(file: string, markdown: string): Passage[] {
  const out: Passage[] = [];
  let heading = '';
  let start = 0;
  let buf: string[] = [];
  const flush = () => {
    const text = buf.join(' ').replace(/\s+/g, ' ').trim();
    if (text) out.push({ file, line: start + 1, heading, text });
    buf = [];
  };
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    // Inside a fenced code block, `# ...` is code (a shell comment), not a heading.
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const h = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      flush();
      heading = h[1]!.trim();
      return;
    }
    if (!line.trim()) {
      flush();
      return;
    }
    if (buf.length === 0) start = i;
    buf.push(line.trim());
  });
  flush();
  return out;
}

const Input = z
  .object({
    query: z.string().trim().min(1).max(500),
    limit: z.number().int().min(1).max(10).default(3),
  })
  .strict();

const Hit = z.object({ source: z.string(), heading: z.string(), excerpt: z.string(), score: z.number() }).strict();
const Output = z.object({ hits: z.array(Hit), searched_files: z.number().int() }).strict();

/**
 * `docs_search`: a read-only keyword search over the markdown files of a folder (the platform's own
 * docs by default). Scores each paragraph by the distinct query terms it contains, then by how often.
 */
export function createDocsSearchTool(docsDir: string, rootForSources = path.dirname(docsDir)): ToolDefinition {
  return defineTool<z.infer<typeof Input>, z.infer<typeof Output>>({
    name: 'docs_search',
    description: 'Search the platform documentation (markdown) for passages matching a query.',
    input: Input,
    output: Output,
    side_effect: 'read',
    max_classification: 'internal',
    timeout_ms: 10_000,
    max_attempts: 3,
    async execute({ query, limit }) {
      const wanted = terms(query);
      const files = await markdownFiles(docsDir);
      const scored: { p: Passage; score: number }[] = [];
      for (const file of files) {
        for (const p of passages(file, await readFile(file, 'utf8'))) {
          const words = (p.heading + ' ' + p.text).toLowerCase().match(/[a-z0-9_]+/g) ?? [];
          const distinct = wanted.filter((t) => words.some((w) => w.startsWith(t))).length;
          if (distinct === 0) continue;
          const freq = words.filter((w) => wanted.some((t) => w.startsWith(t))).length;
          scored.push({ p, score: distinct * 10 + Math.min(freq, 9) });
        }
      }
      scored.sort((a, b) => b.score - a.score || a.p.file.localeCompare(b.p.file) || a.p.line - b.p.line);
      const hits = scored.slice(0, limit).map(({ p, score }) => ({
        source: `${path.relative(rootForSources, p.file)}#L${p.line}`,
        heading: p.heading,
        excerpt: p.text.length > 400 ? `${p.text.slice(0, 397)}...` : p.text,
        score,
      }));
      return {
        output: { hits, searched_files: files.length },
        evidence: hits.map((h) => ({ source: h.source, excerpt: h.excerpt })),
      };
    },
  });
}
