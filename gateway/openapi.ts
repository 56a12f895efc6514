import { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { RouteTable } from './routes/declare';

type Json = Record<string, unknown>;
type Operation = { parameters?: { in: string; allowEmptyValue?: boolean }[] };

/**
 * The OpenAPI 3.1 document of the gateway, generated from the route declarations the router serves
 * (gateway/routes/*), so it names exactly the routes, parameters and bodies the router has.
 */
export function openApiDocument(table: RouteTable): Json {
  table.registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API key or a JWT.' });
  table.registry.registerComponent('securitySchemes', 'apiKey', { type: 'apiKey', in: 'header', name: 'X-API-Key' });
  const doc = new OpenApiGeneratorV31(table.registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Agent control plane gateway', version: '1', description: 'Dispatch, read, approve, cancel and take over agent runs.' },
    security: [{ bearer: [] }, { apiKey: [] }],
  });
  // The query parsers treat an empty value (`?limit=`) as an absent parameter; the document says so.
  for (const item of Object.values(doc.paths ?? {}) as Record<string, Operation>[]) {
    for (const op of Object.values(item)) for (const p of op.parameters ?? []) if (p.in === 'query') p.allowEmptyValue = true;
  }
  return doc as unknown as Json;
}
