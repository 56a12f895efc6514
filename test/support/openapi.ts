import { Validator } from '@cfworker/json-schema';

export type OpenApiDoc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
};

/**
 * A checker of real responses against the gateway's OpenAPI document: it fails unless the response's
 * status is declared for that path and method, with its content type, and the body matches the schema.
 */
export function conformsTo(doc: OpenApiDoc) {
  return (method: string, template: string, res: { status: number; headers: Headers; body: unknown }): void => {
    const op = doc.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`${method} ${template} is not in the document`);
    const declared = op.responses[String(res.status)];
    if (!declared) throw new Error(`${method} ${template} answered ${res.status}, which the document does not declare`);
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
    const media = declared.content?.[type];
    if (!media) throw new Error(`${method} ${template} ${res.status}: content type ${type} not in the document`);
    const result = new Validator(media.schema, '2020-12', false).validate(res.body);
    if (!result.valid) throw new Error(`${method} ${template} ${res.status}: ${JSON.stringify(result.errors.slice(-3))}`);
  };
}

/** A layer of an Express 5 router: a route, or a mounted router with its own stack. */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method+path pair an Express app serves (routes of mounted routers included; HEAD is implied by GET). */
export function routesOf(app: unknown): { method: string; path: string }[] {
  const walk = (stack: Layer[]): { method: string; path: string }[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((m) => m !== '_all')
            .map((m) => ({ method: m.toUpperCase(), path: layer.route!.path }))
        : layer.handle?.stack
          ? walk(layer.handle.stack)
          : [],
    );
  return walk((app as { router: { stack: Layer[] } }).router.stack);
}
