import { isNode, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';

/**
 * A tools configuration file that cannot be used. The message starts with `file:line` and says what
 * to do; `file` and `line` are kept for callers that format their own message.
 */
export class ToolConfigError extends Error {
  override name = 'ToolConfigError';
  constructor(
    readonly file: string,
    readonly line: number,
    what: string,
  ) {
    super(`${file}:${line}: ${what}`);
  }
}

/** A parsed YAML file with a way back from a value's path to its line. */
export interface LocatedYaml<T> {
  file: string;
  data: T;
  /** The line of the deepest node on `path` that exists (1 when none does). */
  line: (path: (string | number)[]) => number;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string scalar with the variable's value. A
 * variable that is unset (or empty) and has no default is an error on the scalar's line.
 */
function interpolate(doc: Document, file: string, counter: LineCounter, vars: Record<string, string | undefined>): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
        const value = vars[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        const line = node.range ? counter.linePos(node.range[0]).line : 1;
        throw new ToolConfigError(file, line, `environment variable ${name} is not set: export it, or write \${${name}:-<default>}`);
      });
    },
  });
}

/**
 * Parses YAML text, substitutes `${VAR}` placeholders from `vars`, and validates it with `schema`.
 * Throws {@link ToolConfigError} naming the file and line of the first problem. Kept free of tool
 * specifics so it can give way to a shared project helper unchanged at its call sites.
 */
export function parseYamlFile<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  vars: Record<string, string | undefined>,
): LocatedYaml<z.infer<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ToolConfigError(file, counter.linePos(e.pos[0]).line, `not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const line = (p: (string | number)[]) => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true);
      if ((isNode(node) || isScalar(node)) && node.range) return counter.linePos(node.range[0]).line;
    }
    return 1;
  };
  interpolate(doc, file, counter, vars);
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    const where = issue.path.join('.') || '(root)';
    throw new ToolConfigError(file, line(issue.path as (string | number)[]), `${where}: ${issue.message}${keys}`);
  }
  return { file, data: parsed.data, line };
}
