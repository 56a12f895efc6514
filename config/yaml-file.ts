import { readFileSync } from 'node:fs';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';

/** A YAML document checked against a zod schema, with a way to say where a value stands. */
export interface YamlFile<T> {
  data: T;
  /** `file:line` of the value at a key path (the key's line), or of its deepest ancestor that exists. */
  at: (path: readonly PropertyKey[]) => string;
  /** The line alone of the same place, for errors found after parsing (a duplicate name, a bad query). */
  line: (path: readonly PropertyKey[]) => number;
}

/**
 * Builds the error a loader throws (ConfigError, PolicyError, ToolConfigError…) from a
 * `file:line: problem` message; `where` carries the file and line for errors that keep them apart.
 */
export type YamlErrorFactory = (message: string, where: { file: string; line: number }) => Error;

/** Options of parseYamlText. */
export interface YamlOptions {
  /**
   * Variables for `${NAME}` and `${NAME:-default}` placeholders in string values (tools' secrets and
   * hosts come from the environment this way). Without it, text is taken as written.
   */
  vars?: Record<string, string | undefined>;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces placeholders in every string scalar; an unset variable without a default fails on its line. */
function interpolate(
  doc: Document,
  file: string,
  counter: LineCounter,
  vars: Record<string, string | undefined>,
  fail: YamlErrorFactory,
): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
        const value = vars[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        const line = node.range ? counter.linePos(node.range[0]).line : 1;
        throw fail(`${file}:${line}: environment variable ${name} is not set: export it, or write \${${name}:-<default>}`, { file, line });
      });
    },
  });
}

/** The line (1-based) of the key or item at `path`, walking down as far as the document has it. */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = isNode(node) && node.range ? node.range[0] : 0;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(step));
      if (!pair) break;
      if (isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step];
      if (!isNode(item) || !item.range) break;
      offset = item.range[0];
      node = item;
    } else break;
  }
  return counter.linePos(offset).line;
}

/**
 * Parses YAML text named `file` and checks it with `schema`. Throws `fail(message)` naming the file,
 * the line and the first problem: `file:line: not valid YAML: …` or `file:line: key.path: reason`.
 */
export function parseYamlText<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  fail: YamlErrorFactory,
  options: YamlOptions = {},
): YamlFile<z.output<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const line = counter.linePos(error.pos[0]).line;
    throw fail(`${file}:${line}: not valid YAML: ${error.message.split('\n')[0]}`, { file, line });
  }
  const line = (path: readonly PropertyKey[]) => lineOf(doc, counter, path);
  const at = (path: readonly PropertyKey[]) => `${file}:${line(path)}`;
  if (options.vars) interpolate(doc, file, counter, options.vars, fail);
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // zod's own message names the key(s) of an `unrecognized_keys` issue, whose path is their object.
    throw fail(`${at(issue.path)}: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`, { file, line: line(issue.path) });
  }
  return { data: parsed.data, at, line };
}

/** Reads a YAML file and checks it like parseYamlText; an unreadable file is `cannot read <file>: …`. */
export function readYamlFile<S extends z.ZodType>(file: string, schema: S, fail: YamlErrorFactory): YamlFile<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail(`cannot read ${file}: ${(err as Error).message}`, { file, line: 0 });
  }
  return parseYamlText(file, text, schema, fail);
}
