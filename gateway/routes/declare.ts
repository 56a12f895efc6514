import { OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { ProblemSchema } from '../api-schemas';
import { validationProblem } from '../problem';

/** A route as the router serves it and the document describes it: one declaration for both. */
export type RouteDeclaration = RouteConfig & { method: 'get' | 'post' };

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;
type BodySchemaOf<D> = D extends { request: { body: { content: { 'application/json': { schema: infer S } } } } } ? S : undefined;
type RequestPart<D, K extends 'params' | 'query'> = D extends { request: { [P in K]: infer S } } ? S : undefined;

/** What a route's handler is given: its path parameters, query and JSON body, parsed by the schemas it declares. */
export interface RouteInput<D> {
  params: Parsed<RequestPart<D, 'params'>>;
  query: Parsed<RequestPart<D, 'query'>>;
  body: Parsed<BodySchemaOf<D>>;
}

/** A route's own handler: typed input in, the response written on `res`. */
export type RouteHandler<D> = (input: RouteInput<D>, res: Response, req: Request) => unknown;

/** A query string with empty values (`?limit=`) dropped: an empty parameter is an absent one, as the document says. */
const withoutEmpty = (q: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));

const isSchema = (s: unknown): s is z.ZodType => typeof (s as { safeParse?: unknown } | undefined)?.safeParse === 'function';

/**
 * Parses a request by its declaration: the one validation of params, query and body (a 400 listing
 * every field at fault). An empty query value counts as absent, as the document says. Headers are
 * declared for the document only: the Idempotency-Key has its own problem type (gateway/dispatch.ts).
 */
function parseRequest<D extends RouteDeclaration>(declaration: D, req: Request): RouteInput<D> {
  const parse = (schema: unknown, value: unknown, title?: string): unknown => {
    if (!isSchema(schema)) return undefined;
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw validationProblem(parsed.error, title ? { title } : {});
    return parsed.data;
  };
  const { params, query, body } = declaration.request ?? {};
  const json = body?.content['application/json'];
  return {
    params: parse(params, req.params, 'Path parameters are invalid'),
    query: parse(query, withoutEmpty(req.query), 'Query parameters are invalid'),
    body: parse(json && 'schema' in json ? json.schema : undefined, req.body),
  } as RouteInput<D>;
}

/**
 * The gateway's routes, declared once: each `route()` call mounts the handlers on a router and
 * registers the same method and path in the OpenAPI registry, so the document cannot name a route
 * the router does not serve, and `methodsOf` knows which methods a path has (for 405s).
 */
export class RouteTable {
  readonly registry = new OpenAPIRegistry();
  private readonly paths: { template: string; pattern: RegExp; methods: Set<string> }[] = [];

  /**
   * Serves the declaration on `router`: the `before` middleware (body parsing…), then `handle` with the
   * request parsed by the declared schemas; and describes the same route in the document.
   */
  route<D extends RouteDeclaration>(router: Router, declaration: D, handle: RouteHandler<D>, before: RequestHandler[] = []): void {
    this.registry.registerPath(declaration);
    const serve: RequestHandler = async (req, res) => {
      await handle(parseRequest(declaration, req), res, req);
    };
    router[declaration.method](declaration.path.replace(/\{(\w+)\}/g, ':$1'), ...before, serve);
    let entry = this.paths.find((p) => p.template === declaration.path);
    if (!entry) {
      // Express matches case-insensitively, with an optional trailing slash, one segment per parameter.
      const source = declaration.path
        .split('/')
        .map((seg) => (/^\{\w+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      entry = { template: declaration.path, pattern: new RegExp(`^${source}/?$`, 'i'), methods: new Set() };
      this.paths.push(entry);
    }
    entry.methods.add(declaration.method.toUpperCase());
  }

  /** The methods declared for a concrete path; none when no declared path matches. */
  methodsOf(path: string): string[] {
    return [...(this.paths.find((p) => p.pattern.test(path))?.methods ?? [])];
  }
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (field paths in `errors`)',
  401: 'Missing or invalid credential',
  403: 'Not allowed',
  404: 'Not found (also another tenant’s run)',
  405: 'The path does not answer this method (Allow lists those it does)',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Body is not application/json',
  422: 'Unprocessable',
  429: 'Rate limit or quota reached (Retry-After)',
  503: 'A dependency did not answer: Temporal, or no worker took an approval or takeover (problem names it; Retry-After)',
};

/** A problem+json response. */
export const problem = (description: string): ResponseConfig => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** A JSON response with its schema. */
export const ok = (description: string, schema: z.ZodType): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
});

/** A required JSON request body; the route parses it with `schema` and hands the handler the result. */
export const jsonRequest = <S extends z.ZodType>(schema: S) => ({ required: true, content: { 'application/json': { schema } } });

/** The problem responses a route may give, by status, with the usual descriptions. */
export const errors = (...codes: number[]): Record<string, ResponseConfig> =>
  Object.fromEntries(codes.map((c) => [String(c), problem(DESCRIPTIONS[c] ?? 'Error')]));

/** The `{id}` path parameter of run routes. */
export const RunIdParams = z.object({ id: z.string().describe('The run id (the Temporal workflow id).') });
