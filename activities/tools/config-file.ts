import type { z } from 'zod';
import { parseYamlText } from '../../config/yaml-file';

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

/** A parsed tools file with a way back from a value's path to its line. */
export interface LocatedYaml<T> {
  file: string;
  data: T;
  /** The line of the deepest key or item on `path` that exists. */
  line: (path: (string | number)[]) => number;
}

/**
 * A tools file through the project's one YAML helper (config/yaml-file.ts), with `${VAR}` placeholders
 * filled from `vars`; its errors are {@link ToolConfigError}s naming file and line.
 */
export function parseYamlFile<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  vars: Record<string, string | undefined>,
): LocatedYaml<z.infer<S>> {
  const parsed = parseYamlText(
    file,
    text,
    schema,
    (message, where) => {
      const error = new ToolConfigError(where.file, where.line, '');
      error.message = message;
      return error;
    },
    { vars },
  );
  return { file, data: parsed.data, line: parsed.line };
}
