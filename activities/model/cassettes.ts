import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { wrapLanguageModel, type LanguageModelMiddleware } from 'ai';
import { ErrorCode } from '../../contracts/errors';
import { failure, redact } from './vendor-errors';

// The AI SDK's model-level types, named through the `ai` package (its provider package is not a direct dependency).
type WrapGenerate = NonNullable<LanguageModelMiddleware['wrapGenerate']>;
type CallOptions = Parameters<WrapGenerate>[0]['params'];
type GenerateResult = Awaited<ReturnType<Parameters<WrapGenerate>[0]['doGenerate']>>;
/** An AI SDK language model as vendor providers build it. */
export type VendorModel = ReturnType<typeof wrapLanguageModel>;

/** `record` writes every exchange to a cassette, `replay` answers from cassettes with no network, `off` does neither. */
export type CassetteMode = 'off' | 'record' | 'replay';

/** Where an agent's cassettes live and what to keep out of them. */
export interface CassetteOptions {
  mode: Exclude<CassetteMode, 'off'>;
  /** The folder of this agent's cassettes (one JSON file per request hash). */
  dir: string;
  /** Provider kind, part of the request identity. */
  provider: string;
  /** Strings (keys) that must never reach a cassette. */
  secrets: string[];
  /** Told whether the answer was recorded or replayed, for the step record. */
  onUse(kind: 'recorded' | 'replayed'): void;
}

/** One exchange as written to disk: plain, reviewable JSON. */
export interface Cassette {
  hash: string;
  request: Record<string, unknown>;
  response: {
    content: GenerateResult['content'];
    finishReason: GenerateResult['finishReason'];
    usage: GenerateResult['usage'];
    response?: { id?: string; modelId?: string };
  };
}

/**
 * The shape of the conversation a cassette's request holds, part of its identity. 1 (no field): the
 * observations in the user's message; 2: each as the assistant's tool call and a tool result. A
 * cassette of an older format can never match again, and the miss says to re-record it.
 */
export const CASSETTE_FORMAT = 2;

/** The value with sorted keys and no undefined (shared/canonical.ts), so equal requests read, diff and hash alike. */
const sorted = (value: unknown): unknown => JSON.parse(canonicalJson(value));

/** Keys that carry credentials or per-call plumbing, never part of a cassette. */
const DROPPED = new Set(['abortSignal', 'headers', 'authorization', 'apiKey', 'api_key', 'includeRawChunks']);

function strip(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (Array.isArray(value)) return value.map((v) => strip(v, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (DROPPED.has(k) ? [] : [[k, strip(v, secrets)]])));
  }
  return value;
}

/** The request as a cassette keys it: provider, model, prompt, tools and settings, canonical and secret-free. */
export function cassetteRequest(provider: string, modelId: string, params: CallOptions, secrets: string[]) {
  return sorted(strip({ format: CASSETTE_FORMAT, provider, model: modelId, ...params }, secrets)) as Record<string, unknown>;
}

/** The canonical hash of a cassette request (sha256 of its canonical JSON). */
export function cassetteHash(request: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** Every leaf of `value` as path → JSON, to say where two requests differ. */
function leaves(value: unknown, at = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leaves(v, Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k, out);
  } else {
    out.set(at, JSON.stringify(value));
  }
  return out;
}

/** The recorded request closest to `request` (fewest differing leaves), and where they differ. */
export function nearestCassette(
  dir: string,
  request: Record<string, unknown>,
): { hash: string; differs: string[]; format: number } | undefined {
  if (!existsSync(dir)) return undefined;
  const want = leaves(request);
  let best: { hash: string; differs: string[]; format: number } | undefined;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const recorded = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Cassette;
    const have = leaves(recorded.request);
    const differs = [...new Set([...want.keys(), ...have.keys()])].filter((k) => want.get(k) !== have.get(k)).sort();
    const format = typeof recorded.request.format === 'number' ? recorded.request.format : 1;
    if (!best || differs.length < best.differs.length) best = { hash: recorded.hash, differs, format };
  }
  return best;
}

function fileOf(dir: string, hash: string): string {
  return path.join(dir, `${hash.slice(0, 16)}.json`);
}

/**
 * Wraps an AI SDK model so its exchanges are recorded to, or replayed from, cassettes. In replay mode
 * the vendor is never called; a request with no cassette fails non-retryably, naming its hash and the
 * nearest recorded request, so a changed prompt shows up as a diff, not as a silent new answer.
 */
export function withCassettes(model: VendorModel, options: CassetteOptions): VendorModel {
  const middleware: LanguageModelMiddleware = {
    specificationVersion: 'v4',
    async wrapGenerate({ doGenerate, params }) {
      const request = cassetteRequest(options.provider, model.modelId, params, options.secrets);
      const hash = cassetteHash(request);
      const file = fileOf(options.dir, hash);
      if (options.mode === 'replay') {
        if (!existsSync(file)) {
          const near = nearestCassette(options.dir, request);
          const hint = !near
            ? '; the folder has no cassettes'
            : near.format !== CASSETTE_FORMAT
              ? `; its cassettes were recorded in cassette format ${near.format} (observations in the user's message), and this worker sends format ${CASSETTE_FORMAT} (each observation as a tool call and its result), so none can match`
              : `; the nearest recorded request is ${near.hash.slice(0, 16)}, which differs at ${near.differs.slice(0, 5).join(', ')}${near.differs.length > 5 ? ` and ${near.differs.length - 5} more` : ''}`;
          throw failure(
            ErrorCode.ModelCassetteMiss,
            true,
            `no cassette for request ${hash.slice(0, 16)} (${options.provider}/${model.modelId}) in ${options.dir}${hint}. Record again with MODEL_CASSETTES=record (an eval suite's: npm run eval -- <agent> --record)`,
            options.secrets,
          );
        }
        const cassette = JSON.parse(readFileSync(file, 'utf8')) as Cassette;
        options.onUse('replayed');
        return { ...cassette.response, response: { ...cassette.response.response }, warnings: [] };
      }
      const result = await doGenerate();
      const cassette: Cassette = {
        hash,
        request,
        response: strip(
          sorted({
            content: result.content,
            finishReason: result.finishReason,
            usage: result.usage,
            response: { id: result.response?.id, modelId: result.response?.modelId },
          }),
          options.secrets,
        ) as Cassette['response'],
      };
      mkdirSync(options.dir, { recursive: true });
      writeFileSync(file, `${JSON.stringify(cassette, null, 2)}\n`);
      options.onUse('recorded');
      return result;
    },
  };
  return wrapLanguageModel({ model, middleware });
}
