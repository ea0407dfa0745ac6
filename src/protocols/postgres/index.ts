// PostgreSQL frontend/backend protocol 3.0 (PostgreSQL docs chapter 55): query, schema browser, probe, cancel.
import * as z from 'zod';
import { PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { InvalidInput } from '../../core/errors.ts';
import { backendFrame, describeBackend, sslRequest, sslResponseFrame, startupMessage, terminateMessage } from './codec.ts';
import { connect, copyInQuery, copyOutQuery, errorText, extendedQuery, sendCancel, simpleQuery, terminate, type ConnectOptions, type QueryOutcome, type Session } from './client.ts';
import { ByteCollector, inlineContent, memorySource } from '../../core/files.ts';
import { fromUtf8, toBase64 } from '../../core/bytes.ts';
import { encodeParam } from './types.ts';
import { jsonValue, limitFields, type JsonValue, type Limits } from '../sql/fields.ts';
import type { ErrorFields } from './codec.ts';
import { listenFor, listenSession, unlisten } from './listen.ts';
import { identification } from './identify.ts';

const credentials = {
  user: z.string().min(1, 'user is required').max(63).describe('Role name to log in as'),
  password: z.string().max(1024).optional().describe('Password (cleartext, md5, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS are answered)'),
  database: z.string().min(1).max(63).optional().describe('Database (default: the user name)'),
  channelBinding: z
    .enum(['prefer', 'require', 'disable'])
    .default('prefer')
    .describe('SCRAM-SHA-256-PLUS, which binds the login to the TLS connection (needs the server certificate: Node host): prefer uses it when offered, require refuses to log in without it, disable never uses it'),
};


const errorFields = z.custom<ErrorFields>((v) => typeof v === 'object' && v !== null, 'error fields');

const resultSet = z.object({
  command: z.string(),
  rowCount: z.number().nullable(),
  oid: z.number().optional(),
  columns: z.array(z.object({ name: z.string(), type: z.string(), typeOid: z.number(), tableOid: z.number().optional(), columnAttr: z.number().optional() })),
  rows: z.array(z.array(jsonValue)),
  rowsReceived: z.number(),
  truncated: z.boolean(),
  copy: z.string().optional(),
});

const serverInfo = z.object({
  version: z.string().nullable(),
  parameters: z.record(z.string(), z.string()),
  pid: z.number().nullable(),
  authMethod: z.string(),
  tls: z.boolean(),
});

function info(s: Session) {
  return { version: s.parameters.server_version ?? null, parameters: s.parameters, pid: s.pid, authMethod: s.authMethod, tls: s.tls };
}

/** A run's label (the `tag` field): its connection's application_name is `portolan-<tag>`, which `cancel` looks for. */
const runTag = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,40}$/, 'tag is 8–40 letters, digits, - or _')
  .optional()
  .describe('A label for this run: the connection is named portolan-<tag> (application_name), and the cancel operation finds it by it');

async function withSession<T>(ctx: OperationContext, input: ConnectOptions & { tag?: string }, fn: (s: Session) => Promise<T>): Promise<T> {
  const applicationName = input.tag ? `portolan-${input.tag}` : 'portolan';
  const session = await connect(ctx, { user: input.user, password: input.password, database: input.database, channelBinding: input.channelBinding, applicationName });
  const out = await fn(session);
  await terminate(session);
  return out;
}

function renderOutcome(r: QueryOutcome): string {
  const out: string[] = [];
  for (const set of r.results) {
    if (set.columns.length > 0) {
      out.push(set.columns.map((c) => c.name).join('\t'));
      for (const row of set.rows) out.push(row.map((v) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v))).join('\t'));
      out.push(`(${set.rows.length} row${set.rows.length === 1 ? '' : 's'}${set.truncated ? `, truncated at ${r.limit}; ${set.rowsReceived} received` : ''})`);
    }
    if (set.copy !== undefined) out.push(set.copy.trimEnd());
    out.push(set.command + (set.rowCount !== null ? ` ${set.rowCount}` : ''));
  }
  for (const n of r.notices) out.push(`${n.severity ?? 'NOTICE'}: ${n.message ?? ''}`);
  return out.join('\n');
}

const queryOutput = z.object({
  server: serverInfo,
  results: z.array(resultSet),
  notices: z.array(errorFields),
  notifications: z.array(z.object({ pid: z.number(), channel: z.string(), payload: z.string() })),
  parameterChanges: z.record(z.string(), z.string()),
  transactionStatus: z.string(),
  truncated: z.boolean(),
  limit: z.string().optional(),
  canceled: z.boolean().optional(),
});

const SCHEMA_SQL = {
  databases: `SELECT d.datname AS name, pg_catalog.pg_get_userbyid(d.datdba) AS owner, pg_catalog.pg_encoding_to_char(d.encoding) AS encoding,
      d.datcollate AS collate, d.datallowconn AS "allowConnections",
      CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT') THEN pg_catalog.pg_database_size(d.datname) END AS "sizeBytes"
    FROM pg_catalog.pg_database d WHERE NOT d.datistemplate ORDER BY 1`,
  schemas: `SELECT n.nspname AS name, pg_catalog.pg_get_userbyid(n.nspowner) AS owner
    FROM pg_catalog.pg_namespace n WHERE n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_' ORDER BY 1`,
  tables: `SELECT n.nspname AS schema, c.relname AS name,
      CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' END AS kind,
      c.reltuples::bigint AS "estimatedRows", pg_catalog.obj_description(c.oid, 'pg_class') AS comment
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r','v','m','p','f')
      AND (($1::text IS NULL AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_toast') OR n.nspname = $1)
    ORDER BY 1, 2 LIMIT 5000`,
  columns: `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int AS "typeOid", NOT a.attnotnull AS nullable,
      pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS "default", a.attnum::int AS position, pg_catalog.col_description(a.attrelid, a.attnum) AS comment
    FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = (pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
  indexes: `SELECT i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary, pg_catalog.pg_get_indexdef(x.indexrelid) AS definition
    FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = (pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))::regclass ORDER BY 1`,
};

/** pg_stat_activity (monitoring-stats "pg_stat_activity View"): one row per backend; queries cut to 1000 characters. */
const ACTIVITY_SQL = `SELECT a.pid, a.pid = pg_catalog.pg_backend_pid() AS self, a.datname AS database, a.usename AS user,
    a.application_name AS application, host(a.client_addr) AS "clientAddress", a.client_port AS "clientPort", a.backend_type AS "backendType",
    a.state, a.wait_event_type AS "waitEventType", a.wait_event AS "waitEvent", a.backend_start AS "backendStart",
    a.xact_start AS "transactionStart", a.query_start AS "queryStart", a.state_change AS "stateChange",
    round(extract(epoch FROM (now() - a.query_start)) * 1000)::float8 AS "queryMs", pg_catalog.pg_blocking_pids(a.pid) AS "blockedBy",
    left(a.query, 1000) AS query
  FROM pg_catalog.pg_stat_activity a
  WHERE ($1::boolean OR a.backend_type = 'client backend') AND ($2::boolean OR a.state IS DISTINCT FROM 'idle')
  ORDER BY a.backend_type <> 'client backend', a.query_start DESC NULLS LAST, a.pid`;

function asObjects(r: QueryOutcome): Record<string, JsonValue>[] {
  const set = r.results[0];
  if (!set) return [];
  return set.rows.map((row) => Object.fromEntries(set.columns.map((c, i) => [c.name, row[i]])));
}

// ---------------------------------------------------------------- COPY

const MAX_COPY_JSON_BYTES = 8 * 1024 * 1024;

const copyFields = {
  schema: z.string().min(1).max(63).optional().describe("The table's schema (default: the search path's)"),
  table: z.string().min(1).max(63).optional().meta({ examples: ['harbours'] }).describe('The table to copy'),
  columns: z.array(z.string().min(1).max(63)).min(1).max(1600).optional().describe('Only these columns, in this order'),
  format: z.enum(['csv', 'text', 'binary']).default('csv').describe('csv, text (tab-separated, \\N for NULL) or binary (PGCOPY)'),
  header: z.boolean().default(false).describe('csv: a first line of column names'),
  delimiter: z.string().length(1).optional().describe('The column separator (csv default ",", text default tab)'),
  null: z.string().max(64).optional().describe('How NULL is spelled (csv default empty, text default \\N)'),
  quote: z.string().length(1).optional().describe('csv: the quote character (default ")'),
  escape: z.string().length(1).optional().describe('csv: the character before a quote inside a quoted value (default: the quote)'),
  fileEncoding: z.string().min(1).max(63).optional().meta({ examples: ['LATIN1'] }).describe("The data's character encoding (COPY ENCODING; default UTF8, the session's)"),
};

type CopyInput = { schema?: string; table?: string; columns?: string[]; format: 'csv' | 'text' | 'binary'; header: boolean; delimiter?: string; null?: string; quote?: string; escape?: string; fileEncoding?: string; query?: string; copy?: string };

/** An identifier, quoted the way quote_ident does (doubling any "). */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal: '…' doubling ', and E'…' doubling \ too when the server reads backslashes in plain literals. */
function literal(value: string, session: Session): string {
  const quoted = value.replace(/'/g, "''");
  return session.parameters.standard_conforming_strings === 'off' ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/** Refuses an input that names no source or several, or a raw statement of the wrong direction: before connecting. */
function checkCopyInput(input: CopyInput, direction: 'TO STDOUT' | 'FROM STDIN'): void {
  const given = [input.table !== undefined && 'table', input.query !== undefined && 'query', input.copy !== undefined && 'copy'].filter(Boolean);
  if (given.length !== 1) throw InvalidInput.field('table', given.length === 0 ? `give table${direction === 'TO STDOUT' ? ', query' : ''} or copy` : `give one of ${given.join(', ')}`);
  if (input.copy !== undefined) {
    const pattern = direction === 'TO STDOUT' ? /^\s*copy\b[\s\S]*\bto\s+stdout\b/i : /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i;
    if (!pattern.test(input.copy)) throw InvalidInput.field('copy', `must be a COPY … ${direction} statement`);
  }
  if (input.query !== undefined && input.columns) throw InvalidInput.field('columns', 'goes with table; a query names its own columns');
}

/**
 * The COPY statement of a checked input: the raw `copy` statement as given, or one built from table (schema,
 * columns) or query and the options (SQL COPY: FORMAT, HEADER, DELIMITER, NULL, QUOTE, ESCAPE, ENCODING from fileEncoding).
 */
function copyStatement(input: CopyInput, direction: 'TO STDOUT' | 'FROM STDIN', session: Session): string {
  if (input.copy !== undefined) return input.copy;
  let source: string;
  if (input.query !== undefined) {
    source = `(${input.query})`;
  } else {
    source = (input.schema ? `${ident(input.schema)}.` : '') + ident(input.table!) + (input.columns ? ` (${input.columns.map(ident).join(', ')})` : '');
  }
  const options = [`FORMAT ${input.format}`];
  if (input.header) options.push('HEADER true');
  if (input.delimiter !== undefined) options.push(`DELIMITER ${literal(input.delimiter, session)}`);
  if (input.null !== undefined) options.push(`NULL ${literal(input.null, session)}`);
  if (input.quote !== undefined) options.push(`QUOTE ${literal(input.quote, session)}`);
  if (input.escape !== undefined) options.push(`ESCAPE ${literal(input.escape, session)}`);
  if (input.fileEncoding !== undefined) options.push(`ENCODING ${literal(input.fileEncoding, session)}`);
  return `COPY ${source} ${direction} (${options.join(', ')})`;
}

/** The format of what a COPY moves: the input's, or for a raw statement what it says (binary from the server's CopyOutResponse). */
function copyFormat(input: CopyInput, binary: boolean): 'csv' | 'text' | 'binary' {
  if (input.copy === undefined) return input.format;
  return binary ? 'binary' : /\bcsv\b/i.test(input.copy) ? 'csv' : 'text';
}

const COPY_FILES = { csv: { ext: 'csv', type: 'text/csv; charset=utf-8' }, text: { ext: 'txt', type: 'text/plain; charset=utf-8' }, binary: { ext: 'pgcopy', type: 'application/octet-stream' } } as const;

const SCHEMA_LIMITS: Limits = { maxRows: 10_000, maxBytes: 16 * 1024 * 1024 };

export default defineProtocol({
  id: 'postgres',
  title: 'PostgreSQL',
  category: 'database',
  summary: 'Runs any SQL over the PostgreSQL wire protocol 3.0: several statements at once, bind parameters, typed results in text or binary format, every error field, cancel; COPY to and from files of any size; LISTEN/NOTIFY as a WebSocket session; browses schemas; probes TLS and the auth method.',
  ports: [{ port: 5432, transport: 'tcp' }],
  specs: ['PostgreSQL Frontend/Backend Protocol 3.0', 'RFC 5802', 'RFC 7677'],
  rating: {
    stars: 5,
    reason:
      'Startup over SSLRequest TLS with trust, cleartext, md5 and SCRAM-SHA-256 (server signature verified), and on the Node host SCRAM-SHA-256-PLUS bound to the TLS connection (tls-server-end-point; channelBinding prefer, require or disable, refused with the reason on Workers); simple queries with several statements, DDL and DML, extended queries with bind parameters, typed results (integers, numeric, bool, bytea with NUL and non-UTF-8 bytes, json/jsonb, arrays, uuid, timestamps), binary-format results for the common types read into the same JSON as text, every ErrorResponse field, notices, row/byte limits with a truncation flag, cancel (cancelAfterMs; a CancelRequest when the deadline passes, so the server stops the statement too; and the page\'s Cancel, which labels each run and asks `cancel` to stop its statement with pg_cancel_backend, the server\'s 57014 shown), LISTEN/NOTIFY as a WebSocket session and as a timed POST, schema browsing, a pg_stat_activity server view (state, wait events, blocking pids), a credential-free probe, and COPY on the file-transfer contract: copy-out streams COPY TO STDOUT (CSV, text, binary; a 200k-row table byte for byte) and copy-in streams an upload into COPY FROM STDIN (CSV, text, binary; a malformed row is the server error with its COPY line, the table unchanged), from the API and from the page: each lab-tested against PostgreSQL 15 through workerd (postgres.lab.test.ts, copy.lab.test.ts, web/e2e/postgres-copy.lab.test.ts; codecs in codec.test.ts and binary.test.ts). Untested: direct TLS (PostgreSQL 17 sslnegotiation=direct needs ALPN, so Node host only), because Debian 12 ships PostgreSQL 15, which has no direct TLS.',
  },

  verifiedAgainst: 'postgresql-15 15.18-0+deb12u1',
  tls: { starttls: true, implicit: { port: 5432 } },
  defaultOperation: 'query',
  identify: identification,
  operations: {
    query: operation({
      primary: ['user', 'password', 'database', 'sql', 'params'],
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary: 'Run SQL: several statements in one simple query, or one statement with bind parameters ($1, $2...); results in text or binary format',
      cancel: { operation: 'cancel', tag: 'tag' },
      input: z.object({
        ...credentials,
        sql: z.string().min(1, 'sql is required').max(1024 * 1024).describe('SQL; several statements separated by ; when no params are given'),
        tag: runTag,
        params: z.array(z.unknown()).max(65535).optional().describe('Bind parameters for $1, $2...: strings, numbers, booleans, null, {hex} for bytea, arrays, objects (as JSON)'),
        ...limitFields,
        cancelAfterMs: z.number().int().min(1).max(300_000).optional().describe('Send a CancelRequest if the query is still running after this many ms'),
        resultFormat: z
          .enum(['text', 'binary'])
          .default('text')
          .describe('binary: the server sends values in binary format (one statement, extended protocol) for bool, integers, floats, numeric, text, bytea, uuid, dates and times, interval, json/jsonb, inet/cidr and arrays of these, read into the same JSON as text (timestamptz in UTC); other types stay text'),
      }),
      output: queryOutput,
      maxTimeoutMs: 300_000,
      defaultTimeoutMs: 30_000,
      text: (r) => renderOutcome(r as QueryOutcome),
      async run(ctx, input) {
        return withSession(ctx, input, async (s) => {
          const lim: Limits = { maxRows: input.maxRows, maxBytes: input.maxBytes };
          let done = false;
          let canceled = false;
          // Cancel in the UI (the request goes away) or the deadline: the server stops the query, not only the connection.
          const keys = s.pid !== null && s.secretKey !== null ? { pid: s.pid, secretKey: s.secretKey } : null;
          const unregister = keys ? ctx.onCancel(() => sendCancel(ctx, keys.pid, keys.secretKey)) : () => undefined;
          if (input.cancelAfterMs !== undefined && s.pid !== null && s.secretKey !== null) {
            const { pid, secretKey } = s;
            ctx.sleep(input.cancelAfterMs).then(
              async () => {
                if (done) return;
                canceled = true;
                await sendCancel(ctx, pid, secretKey);
              },
              () => undefined,
            ).catch(() => undefined);
          }
          try {
            const extended = input.params !== undefined || input.resultFormat === 'binary';
            const outcome = extended ? await extendedQuery(s, input.sql, (input.params ?? []).map(encodeParam), lim, input.resultFormat) : await simpleQuery(s, input.sql, lim);
            return { server: info(s), ...outcome, ...(canceled ? { canceled } : {}) };
          } finally {
            done = true;
            unregister();
          }
        });
      },
    }),
    schema: operation({
      primary: ['user', 'password', 'database', 'schema', 'table'],
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary: 'Browse: databases, schemas and tables; or, with table, its columns (types, nullability, defaults) and indexes',
      input: z.object({
        ...credentials,
        schema: z.string().min(1).max(63).optional().describe('Only this schema (default: every non-system schema); with table, the table\'s schema (default public)'),
        table: z.string().min(1).max(63).optional().describe('Describe this table: columns and indexes'),
      }),
      output: z.object({
        server: serverInfo,
        database: z.string(),
        databases: z.array(z.record(z.string(), jsonValue)).optional(),
        schemas: z.array(z.record(z.string(), jsonValue)).optional(),
        tables: z.array(z.record(z.string(), jsonValue)).optional(),
        table: z.object({ schema: z.string(), name: z.string(), columns: z.array(z.record(z.string(), jsonValue)), indexes: z.array(z.record(z.string(), jsonValue)) }).optional(),
      }),
      text: (r) =>
        r.table
          ? [`${r.table.schema}.${r.table.name}`, ...r.table.columns.map((c) => `  ${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}${c.default ? ` DEFAULT ${c.default}` : ''}`), ...r.table.indexes.map((i) => `  ${i.definition}`)].join('\n')
          : [`databases: ${(r.databases ?? []).map((d) => d.name).join(', ')}`, `schemas: ${(r.schemas ?? []).map((d) => d.name).join(', ')}`, ...(r.tables ?? []).map((t) => `${t.schema}.${t.name} (${t.kind})`)].join('\n'),
      async run(ctx, input) {
        return withSession(ctx, input, async (s) => {
          const base = { server: info(s), database: s.parameters.database ?? input.database ?? input.user };
          const db = (await simpleQuery(s, 'SELECT current_database()', SCHEMA_LIMITS)).results[0]?.rows[0]?.[0];
          if (typeof db === 'string') base.database = db;
          if (input.table) {
            const schema = input.schema ?? 'public';
            const columns = asObjects(await extendedQuery(s, SCHEMA_SQL.columns, [schema, input.table], SCHEMA_LIMITS));
            const indexes = asObjects(await extendedQuery(s, SCHEMA_SQL.indexes, [schema, input.table], SCHEMA_LIMITS));
            return { ...base, table: { schema, name: input.table, columns, indexes } };
          }
          const databases = asObjects(await simpleQuery(s, SCHEMA_SQL.databases, SCHEMA_LIMITS));
          const schemas = asObjects(await simpleQuery(s, SCHEMA_SQL.schemas, SCHEMA_LIMITS));
          const tables = asObjects(await extendedQuery(s, SCHEMA_SQL.tables, [input.schema ?? null], SCHEMA_LIMITS));
          return { ...base, databases, schemas, tables };
        });
      },
    }),
    cancel: operation({
      primary: ['user', 'password', 'database', 'tag'],
      summary: "Cancels the statement a tagged run is executing (pg_cancel_backend on the user's own connections named portolan-<tag>): the UI's Cancel",
      input: z.object({ ...credentials, tag: runTag.unwrap().meta({ examples: ['a1b2c3d4e5f6'] }) }),
      output: z.object({ canceled: z.array(z.number()).describe('Backend pids whose statement was asked to stop') }),
      text: (r) => (r.canceled.length ? `canceled: ${r.canceled.join(', ')}` : 'nothing running under that tag'),
      run: (ctx, input) =>
        withSession(ctx, input, async (s) => {
          const r = await extendedQuery(
            s,
            // OFFSET 0 keeps the filter ahead of pg_cancel_backend, which must see only this user's tagged backends.
            "SELECT pid FROM (SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND usename = current_user AND pid <> pg_backend_pid() AND state = 'active' OFFSET 0) tagged WHERE pg_cancel_backend(pid)",
            [encodeParam(`portolan-${input.tag}`)],
            { maxRows: 1000, maxBytes: 1 << 20 },
            'text',
          );
          return { canceled: (r.results[0]?.rows ?? []).map((row) => Number(row[0])) };
        }),
    }),
    activity: operation({
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary: 'Server view (pg_stat_activity): every backend with its user, database, client, state, wait event, running query and what blocks it',
      input: z.object({
        ...credentials,
        idle: z.boolean().default(true).describe('Include idle connections'),
        background: z.boolean().default(false).describe('Include background processes (checkpointer, walwriter, autovacuum, ...)'),
      }),
      output: z.object({
        server: serverInfo,
        backends: z.array(z.record(z.string(), jsonValue)).describe('pid, self, database, user, application, clientAddress, clientPort, backendType, state, waitEventType, waitEvent, backendStart, transactionStart, queryStart, stateChange, queryMs, blockedBy, query'),
        note: z.string().nullable().describe("Why some rows are hidden (<insufficient privilege>, no backend type), when they are"),
      }),
      text: (r) => r.backends.map((b) => `${b.pid}${b.self ? '*' : ''}\t${b.user ?? ''}\t${b.database ?? ''}\t${b.state ?? b.backendType}\t${b.waitEvent ?? ''}\t${b.queryMs ?? ''}ms\t${String(b.query ?? '').replace(/\s+/g, ' ').slice(0, 80)}`).join('\n'),
      async run(ctx, input) {
        return withSession(ctx, input, async (s) => {
          const backends = asObjects(await extendedQuery(s, ACTIVITY_SQL, [input.background ? 'true' : 'false', input.idle ? 'true' : 'false'], SCHEMA_LIMITS));
          const hidden = backends.some((b) => b.query === '<insufficient privilege>' || b.backendType === null);
          return { server: info(s), backends, note: hidden ? "other users' sessions and background processes are shown in full to superusers and members of pg_read_all_stats only" : null };
        });
      },
    }),
    'copy-out': operation({
      primary: ['user', 'password', 'database', 'table', 'format'],
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary:
        'COPY … TO STDOUT: a table, a query or your own COPY statement as CSV, text or binary; streamed, of any size, with Accept: application/octet-stream or as a WebSocket transfer (a file named after the table); in JSON up to 8 MiB',
      transfer: { direction: 'download' },
      input: z.object({
        ...credentials,
        ...copyFields,
        query: z.string().min(1).max(1024 * 1024).optional().describe('Copy the rows of this query instead of a table: COPY (query) TO STDOUT'),
        copy: z.string().min(1).max(1024 * 1024).optional().describe('Your own COPY … TO STDOUT statement, run as given (the format options above are then ignored)'),
        maxBytes: z.number().int().min(1).max(MAX_COPY_JSON_BYTES, 'maxBytes must be at most 8 MiB: stream larger copies (Accept: application/octet-stream)').default(1024 * 1024).describe('JSON answer: most bytes to return; more are counted and reported as truncated. A stream has no cap.'),
      }),
      output: z.object({
        server: serverInfo,
        statement: z.string(),
        format: z.enum(['csv', 'text', 'binary']),
        rowCount: z.number().nullable().describe("Rows copied (the server's CommandComplete)"),
        bytes: z.number().describe('Bytes the server sent'),
        truncated: z.boolean(),
        content: z.string().nullable().describe('csv and text: the data (null when streamed)'),
        contentBase64: z.string().nullable().describe('binary: the data (null when streamed)'),
        notices: z.array(errorFields),
      }),
      text: (r) => (r.content !== null ? r.content : r.contentBase64 !== null ? `${r.bytes} bytes of binary COPY data; COPY ${r.rowCount ?? ''}` : `${r.bytes} bytes streamed; COPY ${r.rowCount ?? ''}`),
      defaultTimeoutMs: 60_000,
      async run(ctx, input) {
        checkCopyInput(input, 'TO STDOUT');
        return withSession(ctx, input, async (s) => {
          const statement = copyStatement(input, 'TO STDOUT', s);
          const field = input.copy !== undefined ? 'copy' : input.query !== undefined ? 'query' : 'table';
          let format = copyFormat(input, input.format === 'binary');
          const collector = ctx.download ? undefined : new ByteCollector(input.maxBytes);
          const got = await copyOutQuery(
            s,
            statement,
            async (wire) => {
              format = copyFormat(input, wire === 1);
              if (!ctx.download) return collector!;
              const file = COPY_FILES[format];
              return ctx.download.begin({ name: `${input.table ?? (input.query !== undefined ? 'query' : 'copy')}.${file.ext}`, contentType: file.type, meta: { copyFormat: format } });
            },
            field,
          );
          const kept = collector?.bytes();
          return {
            server: info(s),
            statement,
            format,
            rowCount: got.rowCount,
            bytes: got.bytes,
            truncated: collector?.truncated ?? false,
            content: kept && format !== 'binary' ? fromUtf8(kept) : null,
            contentBase64: kept && format === 'binary' ? toBase64(kept) : null,
            notices: got.notices,
          };
        });
      },
    }),
    'copy-in': operation({
      primary: ['user', 'password', 'database', 'table', 'format'],
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary:
        'COPY … FROM STDIN: load a CSV, text or binary file into a table; streamed, of any size, as multipart/form-data (part input, then part file) or a WebSocket transfer; or inline. A malformed row fails the whole COPY with the line the server names',
      transfer: { direction: 'upload', content: 'content' },
      input: z.object({
        ...credentials,
        ...copyFields,
        copy: z.string().min(1).max(1024 * 1024).optional().describe('Your own COPY … FROM STDIN statement, run as given (the format options above are then ignored)'),
        content: z.string().max(Math.ceil(MAX_COPY_JSON_BYTES / 3) * 4, 'content is larger than 8 MiB: stream larger files (multipart/form-data)').describe('The data, as text (or base64 with encoding base64); left out when the file is streamed'),
        encoding: z.enum(['utf8', 'base64']).default('utf8').describe('How content is given: utf8 text, or base64 (binary format)'),
      }),
      output: z.object({
        server: serverInfo,
        statement: z.string(),
        rowCount: z.number().nullable().describe("Rows the server took (its CommandComplete)"),
        bytes: z.number().describe('Bytes sent to the server'),
        notices: z.array(errorFields),
      }),
      text: (r) => `COPY ${r.rowCount ?? ''} (${r.bytes} bytes)`,
      defaultTimeoutMs: 60_000,
      async run(ctx, input) {
        checkCopyInput(input, 'FROM STDIN');
        const inline = ctx.upload ? undefined : inlineContent(input.content, input.encoding);
        return withSession(ctx, input, async (s) => {
          const statement = copyStatement(input, 'FROM STDIN', s);
          const got = await copyInQuery(s, statement, ctx.upload ?? memorySource(inline!), input.copy !== undefined ? 'copy' : 'table');
          return { server: info(s), statement, rowCount: got.rowCount, bytes: got.bytes, notices: got.notices };
        });
      },
    }),
    probe: operation({
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary: 'Without credentials: does the server offer TLS, which authentication method does it ask for, which version is it',
      input: z.object({
        user: z.string().min(1).max(63).default('postgres').describe('Role name to start up as (no password is sent)'),
        database: z.string().min(1).max(63).optional(),
      }),
      output: z.object({
        tlsOffered: z.boolean().nullable(),
        tlsUsed: z.boolean(),
        authMethod: z.string().nullable(),
        saslMechanisms: z.array(z.string()).optional(),
        serverVersion: z.string().nullable(),
        parameters: z.record(z.string(), z.string()).optional(),
        serverError: z.object({ sqlstate: z.string().optional(), message: z.string(), severity: z.string().optional() }).optional(),
      }),
      text: (r) =>
        [
          `TLS offered: ${r.tlsOffered === null ? 'not asked' : r.tlsOffered ? 'yes' : 'no'}${r.tlsUsed ? ' (used)' : ''}`,
          `auth method: ${r.authMethod ?? 'none (refused before authentication)'}${r.saslMechanisms ? ` (${r.saslMechanisms.join(', ')})` : ''}`,
          `server version: ${r.serverVersion ?? 'not disclosed before login'}`,
          ...(r.serverError ? [`server said: ${r.serverError.sqlstate ?? ''} ${r.serverError.message}`] : []),
        ].join('\n'),
      async run(ctx, input) {
        let conn;
        let tlsOffered: boolean | null = null;
        let tlsUsed = false;
        if (ctx.target.tls === 'implicit') {
          conn = await ctx.dial({ alpn: ['postgresql'] });
          tlsUsed = true;
        } else {
          // Ask for TLS on a connection that can upgrade; upgrade only when TLS was asked for.
          conn = await ctx.dial({ tls: 'starttls' });
          await conn.write(sslRequest(), { decode: 'SSLRequest' });
          const answer = await conn.readFrame(sslResponseFrame, 'SSLRequest answer', (c) => `SSL answer ${c}`);
          tlsOffered = answer === 'S';
          if (ctx.target.tls === 'starttls') {
            if (!tlsOffered) throw new PortolanError('tls_error', 'TLS was asked for, but the server answered N to SSLRequest: it does not offer TLS');
            await conn.startTls();
            tlsUsed = true;
          } else if (tlsOffered) {
            await conn.close();
            conn = await ctx.dial({ tls: 'off' });
          }
        }
        const database = input.database ?? input.user;
        await conn.write(startupMessage({ user: input.user, database, client_encoding: 'UTF8', application_name: 'portolan-probe' }), { decode: `StartupMessage user=${input.user} database=${database}` });
        const frame = backendFrame();
        for (let n = 0; n < 10_000; n++) {
          const m = await conn.readFrame(frame, 'startup answer', describeBackend);
          if (m.type === 'NoticeResponse' || m.type === 'NegotiateProtocolVersion') continue;
          if (m.type === 'ErrorResponse') {
            return { tlsOffered, tlsUsed, authMethod: null, serverVersion: null, serverError: { sqlstate: m.fields.code, message: errorText(m.fields), severity: m.fields.severity } };
          }
          if (m.type !== 'Authentication') break;
          const kind = m.auth.kind;
          if (kind === 'ok') {
            // trust: the server let us in; read the parameters it reports, then leave.
            const parameters: Record<string, string> = {};
            for (let k = 0; k < 10_000; k++) {
              const p = await conn.readFrame(frame, 'startup parameters', describeBackend);
              if (p.type === 'ParameterStatus') parameters[p.name] = p.value;
              if (p.type === 'ReadyForQuery' || p.type === 'ErrorResponse') break;
            }
            await conn.write(terminateMessage(), { decode: 'Terminate' }).catch(() => undefined);
            return { tlsOffered, tlsUsed, authMethod: 'trust', serverVersion: parameters.server_version ?? null, parameters };
          }
          const method = kind === 'sasl' ? (m.auth.kind === 'sasl' && m.auth.mechanisms.includes('SCRAM-SHA-256') ? 'scram-sha-256' : 'sasl') : kind;
          return { tlsOffered, tlsUsed, authMethod: method, ...(m.auth.kind === 'sasl' ? { saslMechanisms: m.auth.mechanisms } : {}), serverVersion: null };
        }
        return { tlsOffered, tlsUsed, authMethod: null, serverVersion: null };
      },
    }),
    listen: operation({
      // PostgreSQL 17 direct TLS requires ALPN \"postgresql\".
      needsWithTls: { implicit: ['alpn'] },
      summary: 'LISTEN/NOTIFY: as a WebSocket session, notifications as they arrive (and listen/unlisten/notify from the client); as a POST, the notifications of a time window',
      input: z.object({
        ...credentials,
        channels: z.array(z.string().min(1).max(63)).max(1000).default([]).describe('Channels to LISTEN to'),
        durationMs: z.number().int().min(100).max(60_000).default(5000).describe('POST only: how long to listen'),
        maxMessages: z.number().int().min(1).max(1_000_000).default(1000).describe('Stop after this many notifications'),
      }),
      output: z.object({
        notifications: z.array(z.object({ channel: z.string(), payload: z.string(), pid: z.number() })).describe('POST: the notifications received; a session streams them instead'),
        count: z.number(),
        listening: z.array(z.string()),
        ended: z.enum(['duration', 'maxMessages', 'client', 'server']),
      }),
      maxTimeoutMs: 3_600_000,
      defaultTimeoutMs: 30_000,
      text: (r) => r.notifications.map((n) => `${n.channel}: ${n.payload} (pid ${n.pid})`).join('\n') || '(no notifications)',
      async run(ctx, input) {
        if (input.channels.length === 0) throw InvalidInput.field('channels', 'give at least one channel');
        if (input.durationMs >= input.timeoutMs) throw InvalidInput.field('durationMs', `must be shorter than timeoutMs (${input.timeoutMs})`);
        return withSession(ctx, input, async (s) => {
          const { notifications, ended } = await listenFor(ctx, s, input.channels, input.durationMs, input.maxMessages);
          await unlisten(s, '*');
          return { notifications, count: notifications.length, listening: input.channels, ended };
        });
      },
      async session(ctx, input, channel) {
        return withSession(ctx, input, async (s) => {
          const r = await listenSession(s, input.channels, input.maxMessages, channel);
          return { notifications: [], ...r };
        });
      },
    }),
  },
});
