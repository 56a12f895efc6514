import { Client } from 'pg';
import type { Logger } from '../../../observability/logger';
import { ToolConfigError } from '../config-file';
import { SESSION_OPTIONS } from './sql-connection';

/** What the start-up check found wrong with a `sql` connection's role; empty when it is least-privileged. */
export interface RoleFindings {
  role: string;
  /** Each a sentence: superuser, a server-files role, a table it can read and write. */
  problems: string[];
}

// Built-in roles that reach the host or other sessions whatever a query's transaction is.
const HOST_ROLES = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_signal_backend'];

/**
 * Asks the database what the connection's role may do: whether it is a superuser (or bypasses row
 * security), holds a built-in role with host access, runs sessions that are not read-only by default,
 * or may INSERT, UPDATE, DELETE or TRUNCATE a table it can read (the first few are named).
 */
export async function inspectRole(connectionString: string): Promise<RoleFindings> {
  // The same session options as the tool's pool, so the check sees what a query would.
  const client = new Client({ connectionString, options: SESSION_OPTIONS, application_name: 'acp-sql-tool-check' });
  await client.connect();
  try {
    const { rows } = await client.query<{
      role: string;
      super: boolean;
      bypassrls: boolean;
      replication: boolean;
      read_only: string;
      host_roles: string[];
      writable: string[];
      writable_count: number;
    }>(
      `WITH writable AS (
         SELECT format('%I.%I', n.nspname, c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            AND has_table_privilege(c.oid, 'SELECT')
            AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
              OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE')))
       SELECT current_user AS role, r.rolsuper AS super, r.rolbypassrls AS bypassrls, r.rolreplication AS replication,
              current_setting('default_transaction_read_only') AS read_only,
              ARRAY(SELECT h FROM unnest($1::text[]) AS h WHERE pg_has_role(current_user, h, 'MEMBER')) AS host_roles,
              ARRAY(SELECT w.name FROM writable w ORDER BY w.name LIMIT 5) AS writable,
              (SELECT count(*)::int FROM writable) AS writable_count
         FROM pg_roles r WHERE r.rolname = current_user`,
      [HOST_ROLES],
    );
    const found = rows[0]!;
    const problems: string[] = [];
    if (found.super) problems.push('it is a superuser (it can read host files and write anything)');
    if (found.bypassrls) problems.push('it bypasses row-level security');
    if (found.replication) problems.push('it has the REPLICATION attribute (it can create replication slots, which no rollback undoes)');
    if (found.host_roles.length) problems.push(`it is a member of ${found.host_roles.join(', ')}`);
    if (found.read_only !== 'on') problems.push('its sessions are not read-only (remove `options` from the connection string)');
    if (found.writable_count > 0)
      problems.push(
        `it can write ${found.writable_count} table(s) it can read (${found.writable.join(', ')}${found.writable_count > found.writable.length ? ', ...' : ''})`,
      );
    return { role: found.role, problems };
  } finally {
    await client.end();
  }
}

/**
 * The worker's start-up check of a `postgres` connection of `sql` tools: a role with more rights than
 * reading is refused (a ToolConfigError naming the connection's line), or with `allow_privileged_role`
 * logged as a warning at every start. A database that does not answer is left to the first call.
 */
export async function checkSqlRole(
  name: string,
  connection: { postgres: string; allow_privileged_role: boolean },
  where: { file: string; line: number },
  logger: Pick<Logger, 'warn' | 'info'>,
): Promise<void> {
  let findings: RoleFindings;
  try {
    findings = await inspectRole(connection.postgres);
  } catch (err) {
    logger.warn('sql connection not checked: the database did not answer', { connection: name, error: (err as Error).message });
    return;
  }
  if (findings.problems.length === 0) return;
  const what = `the role "${findings.role}" of sql connection "${name}" has more rights than reading: ${findings.problems.join('; ')}`;
  if (connection.allow_privileged_role) {
    logger.warn(`INSECURE: ${what}. allow_privileged_role is set, so the worker starts anyway`, {
      connection: name,
      role: findings.role,
      problems: findings.problems,
    });
    return;
  }
  throw new ToolConfigError(
    where.file,
    where.line,
    `${what}. Connect as a least-privileged role (docs/how-to-write-a-tool.md, "A read-only role"), or set allow_privileged_role: true to start anyway`,
  );
}
