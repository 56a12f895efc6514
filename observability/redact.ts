// The one redaction function of the platform. Log lines, span attributes and error bodies all pass
// through redact() before they leave the process, so a secret or a restricted value is hidden the same
// way wherever it would have shown up.

/** What a hidden value is replaced with. */
export const REDACTED = '[REDACTED]';

/** Field names whose values are credentials whatever they contain. */
const SECRET_KEY =
  /^(authorization|proxy-authorization|x-api-key|api[-_]?key|apikey|password|passwd|secret|client[-_]?secret|token|access[-_]?token|refresh[-_]?token|cookie|set-cookie)$/i;
/** Credentials recognisable by their shape: bearer tokens, vendor API keys, JWTs. */
const SECRET_SHAPES: RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  /\b(AIza|xox[abpr]-|ghp_|gho_|github_pat_)[A-Za-z0-9_-]{16,}/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
];
/** Environment variables whose values are secrets (their values are hidden wherever they appear). */
const SECRET_ENV = /(API_KEY|_TOKEN|_SECRET|PASSWORD|_PASS)$|^(AUTH_JWT_SECRET|TEMPORAL_API_KEY)$/;
const MIN_SECRET_LENGTH = 6;
/** Per-run values (restricted context) are remembered up to this many; the least recently added go first. */
const MAX_RUN_VALUES = 10_000;

// Two sets, so the bound on what requests bring in can never push out what the process was started
// with: the configured secrets stay hidden however many runs pass through.
const processSecrets = new Set<string>();
const runValues = new Set<string>();
let valuePattern: RegExp | undefined;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rebuildPattern(): void {
  const all = [...processSecrets, ...runValues];
  valuePattern = all.length
    ? new RegExp(
        all
          .sort((a, b) => b.length - a.length)
          .map(escape)
          .join('|'),
        'g',
      )
    : undefined;
}

/**
 * Adds the process's configured secrets (secret environment values…), hidden wherever they appear
 * for the life of the process: they are never evicted. Short values (under 6 characters) are
 * ignored: hiding "yes" everywhere would hide more than it protects.
 */
export function addProcessSecrets(list: Iterable<string>): void {
  let changed = false;
  for (const v of list) {
    if (v.length < MIN_SECRET_LENGTH || processSecrets.has(v)) continue;
    processSecrets.add(v);
    runValues.delete(v);
    changed = true;
  }
  if (changed) rebuildPattern();
}

/**
 * Adds values a run brought in (the values of context fields labelled confidential or restricted),
 * hidden wherever they appear. At most 10,000 are kept, least recently added evicted first; adding a
 * value again makes it the most recent. Short values (under 6 characters) are ignored.
 */
export function addSensitiveValues(list: Iterable<string>): void {
  let changed = false;
  for (const v of list) {
    if (v.length < MIN_SECRET_LENGTH || processSecrets.has(v)) continue;
    const known = runValues.delete(v);
    runValues.add(v);
    if (known) continue;
    changed = true;
    if (runValues.size > MAX_RUN_VALUES) runValues.delete(runValues.values().next().value as string);
  }
  if (changed) rebuildPattern();
}

/** The values of secret environment variables (…_API_KEY, …_TOKEN, …_SECRET, …PASSWORD, and the named extras). */
export function secretEnvValues(env: Record<string, string | undefined>, extraNames: readonly string[] = []): string[] {
  return Object.entries(env)
    .filter(([name, v]) => v && (SECRET_ENV.test(name) || extraNames.includes(name)))
    .map(([, v]) => v!);
}

/** The string values (at any depth) of the context fields labelled confidential or restricted. */
export function restrictedContextValues(context: Record<string, unknown>, labels: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number') out.push(String(v));
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  for (const [field, label] of Object.entries(labels ?? {})) {
    if (label === 'confidential' || label === 'restricted') collect(context[field]);
  }
  return out;
}

function redactString(s: string): string {
  let out = s;
  for (const shape of SECRET_SHAPES)
    out = out.replace(shape, (m, scheme: string | undefined) =>
      scheme && /^(Bearer|Basic)$/.test(scheme) ? `${scheme} ${REDACTED}` : REDACTED,
    );
  if (valuePattern) out = out.replace(valuePattern, REDACTED);
  return out;
}

/**
 * Returns a copy of `value` with secrets hidden: values under credential-named keys, strings shaped
 * like credentials (bearer tokens, API keys, JWTs), configured secret values and restricted context
 * values. Strings inside objects and arrays are redacted at any depth; other values pass unchanged.
 */
export function redact<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactString(value) as T;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redact(v, depth + 1)) as T;
  if (value instanceof Error) return Object.assign(new Error(redactString(value.message)), { name: value.name }) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, depth + 1);
  }
  return out as T;
}
