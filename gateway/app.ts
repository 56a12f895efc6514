import express, { Router, type Express } from 'express';
import { Gateway } from './context';
import type { GatewayDeps } from './deps';
import { authenticated } from './middleware/auth';
import { methodNotAllowed, notFoundHandler, problemHandler } from './middleware/errors';
import { rateLimited } from './middleware/rate-limit';
import { requestContext } from './middleware/request-context';
import { openApiDocument } from './openapi';
import { approvalRoutes } from './routes/approvals';
import { RouteTable } from './routes/declare';
import { governanceRoutes } from './routes/governance';
import { healthRoutes } from './routes/health';
import { runEventRoutes } from './routes/run-events';
import { runsReadRoutes } from './routes/runs-read';
import { runsWriteRoutes } from './routes/runs-write';
import { dependencyErrors, temporalDeadline } from './middleware/temporal';
import { uiRoutes } from './ui/routes';
import { withSessions } from './ui/session-auth';
import { SessionStore } from './ui/sessions';

export type { GatewayDeps, QuotaSettings } from './deps';
export type { RateLimitSettings } from './middleware/rate-limit';

/** The gateway's routes, declared once: the routers serve them and the OpenAPI document describes them. */
export function declareRoutes(gw: Gateway): { table: RouteTable; open: Router; withCredential: Router; document: () => unknown } {
  const table = new RouteTable();
  const open = Router();
  const closed = Router();
  let doc: unknown;
  const document = () => (doc ??= openApiDocument(table));
  healthRoutes(table, open, gw, document);
  runsReadRoutes(table, closed, gw);
  runEventRoutes(table, closed, gw);
  runsWriteRoutes(table, closed, gw);
  approvalRoutes(table, closed, gw);
  governanceRoutes(table, closed, gw);
  return { table, open, withCredential: closed, document };
}

/** Builds the gateway's Express app. It does not listen; the entry point (or a test) does. */
export function createApp(deps: GatewayDeps): Express {
  const gw = new Gateway(deps);
  const routes = declareRoutes(gw);
  const sessions = new SessionStore();
  const ui = uiRoutes(routes.table, sessions, deps.authenticate);
  // Generated now, so a declaration the generator cannot describe fails at start, not at the first GET.
  routes.document();

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestContext(deps.logger, gw.metrics));
  app.use(temporalDeadline(deps.client));
  // The paths are public (the document lists them), so a wrong method is answered before credentials.
  app.use(methodNotAllowed((path) => routes.table.methodsOf(path)));
  app.use(routes.open);
  // The approver's page: its sessions stand in for the credential on the same routes (gateway/ui/).
  app.use(ui);
  // Everything below needs a credential.
  app.use(authenticated(withSessions(sessions, deps.authenticate)));
  if (deps.rateLimits) app.use(rateLimited(deps.rateLimits));
  app.use(routes.withCredential);
  app.use(notFoundHandler);
  app.use(dependencyErrors());
  app.use(problemHandler(deps.logger));
  return app;
}
