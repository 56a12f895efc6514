import { readFileSync } from 'node:fs';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

/** A YAML document checked against a zod schema, with a way to say where a value stands. */
export interface YamlFile<T> {
  data: T;
  /** `file:line` of the value at a key path (the key's line), or of its deepest ancestor that exists. */
  at: (path: readonly PropertyKey[]) => string;
}

/** Builds the error a loader throws (ConfigError, PolicyError…) from a `file:line: problem` message. */
export type YamlErrorFactory = (message: string) => Error;

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
export function parseYamlText<S extends z.ZodType>(file: string, text: string, schema: S, fail: YamlErrorFactory): YamlFile<z.output<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) throw fail(`${file}:${counter.linePos(error.pos[0]).line}: not valid YAML: ${error.message.split('\n')[0]}`);
  const at = (path: readonly PropertyKey[]) => `${file}:${lineOf(doc, counter, path)}`;
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // zod's own message names the key(s) of an `unrecognized_keys` issue, whose path is their object.
    throw fail(`${at(issue.path)}: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  }
  return { data: parsed.data, at };
}

/** Reads a YAML file and checks it like parseYamlText; an unreadable file is `cannot read <file>: …`. */
export function readYamlFile<S extends z.ZodType>(file: string, schema: S, fail: YamlErrorFactory): YamlFile<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseYamlText(file, text, schema, fail);
}
