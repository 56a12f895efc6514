import { OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { ProblemSchema } from '../api-schemas';

/** A route as the router serves it and the document describes it: one declaration for both. */
export type RouteDeclaration = RouteConfig & { method: 'get' | 'post' };

/**
 * The gateway's routes, declared once: each `route()` call mounts the handlers on a router and
 * registers the same method and path in the OpenAPI registry, so the document cannot name a route
 * the router does not serve, and `methodsOf` knows which methods a path has (for 405s).
 */
export class RouteTable {
  readonly registry = new OpenAPIRegistry();
  private readonly paths: { template: string; pattern: RegExp; methods: Set<string> }[] = [];

  /** Serves `handlers` on `router` for the declaration, and describes it in the document. */
  route(router: Router, declaration: RouteDeclaration, ...handlers: RequestHandler[]): void {
    this.registry.registerPath(declaration);
    router[declaration.method](declaration.path.replace(/\{(\w+)\}/g, ':$1'), ...handlers);
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

/** A required JSON request body. */
export const jsonRequest = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });

/** The problem responses a route may give, by status, with the usual descriptions. */
export const errors = (...codes: number[]): Record<string, ResponseConfig> =>
  Object.fromEntries(codes.map((c) => [String(c), problem(DESCRIPTIONS[c] ?? 'Error')]));

/** The `{id}` path parameter of run routes. */
export const RunIdParams = z.object({ id: z.string().describe('The run id (the Temporal workflow id).') });

/** A query string with empty values (`?limit=`) dropped: an empty parameter is an absent one, as the document says. */
export const withoutEmpty = (q: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));
