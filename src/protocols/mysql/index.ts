// MySQL / MariaDB client/server protocol: query (text and prepared), schema browser, probe.
import * as z from 'zod';
import { fromHex } from '../../core/bytes.ts';
import { bytesField, inputBytes, type BytesInput } from '../../core/bytes-input.ts';
import { PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { capabilityNames, CLIENT, encodePacket, MARIADB_CLIENT, sslRequestPayload, type BinaryParam } from './codec.ts';
import { connect, PacketReader, preparedQuery, query, quit, readHandshake, type QueryOutcome, type Session } from './client.ts';
import { jsonValue, limitFields, type JsonValue, type Limits } from '../sql/fields.ts';
import { identification } from './identify.ts';

const credentials = {
  user: z.string().min(1, 'user is required').max(80).describe('User name'),
  password: z.string().max(1024).optional().describe('Password (mysql_native_password, caching_sha2_password, client_ed25519 are answered)'),
  database: z.string().min(1).max(64).optional().describe('Default database'),
};


const resultSet = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string(), table: z.string(), schema: z.string(), orgName: z.string(), charset: z.number(), length: z.number(), flags: z.number(), decimals: z.number() })),
  rows: z.array(z.array(jsonValue)),
  rowsReceived: z.number(),
  truncated: z.boolean(),
  affectedRows: z.union([z.number(), z.string()]).nullable(),
  lastInsertId: z.union([z.number(), z.string()]).nullable(),
  warnings: z.number(),
  info: z.string(),
  warningList: z
    .array(z.object({ level: z.string(), code: z.number(), message: z.string() }))
    .optional()
    .describe("SHOW WARNINGS for the last statement, when it raised any (the server keeps only the last statement's)"),
});

const serverInfo = z.object({
  version: z.string(),
  connectionId: z.number(),
  authPlugins: z.array(z.string()),
  authPath: z.string().optional(),
  tls: z.boolean(),
});

/** The last statement's warnings in the server's words (SHOW WARNINGS), beside its result. */
async function attachWarnings(s: Session, out: QueryOutcome): Promise<void> {
  const last = out.results[out.results.length - 1] as (QueryOutcome['results'][number] & { warningList?: unknown }) | undefined;
  if (!last || last.warnings === 0) return;
  const w = await query(s, 'SHOW WARNINGS', { maxRows: 1000, maxBytes: 1024 * 1024 });
  last.warningList = (w.results[0]?.rows ?? []).map((r) => ({ level: String(r[0] ?? ''), code: Number(r[1] ?? 0), message: String(r[2] ?? '') }));
}

/** MariaDB prefixes "5.5.5-" to its version so that old clients see one they accept. */
function cleanVersion(v: string): string {
  return v.replace(/^5\.5\.5-(?=.*MariaDB)/, '');
}

function info(s: Session) {
  return { version: cleanVersion(s.handshake.serverVersion), connectionId: s.handshake.connectionId, authPlugins: s.authPlugins, ...(s.authPath ? { authPath: s.authPath } : {}), tls: s.tls };
}

async function withSession<T>(ctx: OperationContext, input: { user: string; password?: string; database?: string; localInfile?: { name: string; content: BytesInput } }, fn: (s: Session) => Promise<T>): Promise<T> {
  const localInfile = input.localInfile && { name: input.localInfile.name, content: inputBytes(input.localInfile.content, 'localInfile.content') };
  const s = await connect(ctx, { user: input.user, password: input.password, database: input.database, localInfile });
  const out = await fn(s);
  await quit(s);
  return out;
}

/** JSON parameters to binary protocol values: {hex} is bytes, objects and arrays go as JSON text. */
function toBinaryParam(v: unknown, i: number): BinaryParam {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { hex?: unknown }).hex === 'string') {
    try {
      return fromHex((v as { hex: string }).hex);
    } catch {
      throw new PortolanError('invalid_input', `params.${i}: hex is not valid hexadecimal`);
    }
  }
  return JSON.stringify(v);
}

function render(r: QueryOutcome): string {
  const out: string[] = [];
  for (const set of r.results) {
    if (set.columns.length > 0) {
      out.push(set.columns.map((c) => c.name).join('\t'));
      for (const row of set.rows) out.push(row.map((v) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v))).join('\t'));
      out.push(`(${set.rows.length} row${set.rows.length === 1 ? '' : 's'}${set.truncated ? `, truncated at ${r.limit}; ${set.rowsReceived} received` : ''})`);
    } else out.push(`OK, ${set.affectedRows} row(s) affected${set.info ? ` (${set.info})` : ''}`);
  }
  return out.join('\n');
}

function asObjects(r: QueryOutcome): Record<string, JsonValue>[] {
  const set = r.results[0];
  if (!set) return [];
  return set.rows.map((row) => Object.fromEntries(set.columns.map((c, i) => [c.name, row[i]])));
}

const SCHEMA_LIMITS: Limits = { maxRows: 10_000, maxBytes: 16 * 1024 * 1024 };
const SYSTEM_SCHEMAS = "('information_schema','mysql','performance_schema','sys')";

export default defineProtocol({
  id: 'mysql',
  title: 'MySQL / MariaDB',
  category: 'database',
  summary: 'Runs any SQL over the MySQL client/server protocol: several statements and result sets at once, prepared statements with binary rows, typed columns, ERR with SQLSTATE; browses schemas; probes version, capabilities, auth plugin and TLS.',
  ports: [{ port: 3306, transport: 'tcp' }],
  specs: ['MySQL Client/Server Protocol', 'MariaDB Client/Server Protocol'],
  rating: {
    stars: 5,
    reason:
      "Handshake v10 with capability flags and TLS via SSLRequest; mysql_native_password, MariaDB client_ed25519 and auth switch, and a REQUIRE X509 user with a client certificate (Portolan's TLS engine on Workers), lab-tested against MariaDB 10.11 through workerd; COM_QUERY with several result sets shown as separate grids in the UI and any SQL, COM_STMT_PREPARE/EXECUTE with binary rows and every column type (integers signed and unsigned to 64 bits, FLOAT, DOUBLE, DECIMAL, DATE, DATETIME(6), TIMESTAMP, TIME(6) negative, YEAR, CHAR/VARCHAR/TEXT, BINARY/VARBINARY/BLOBs, ENUM, SET, BIT, JSON, INET6, UUID) round-tripped the same in binary and text rows; LOAD DATA LOCAL INFILE opted into with the file's content (only the named file is ever sent; up to 16 MiB in one request); the last statement's warnings in the server's words (SHOW WARNINGS) beside its result; ERR with SQLSTATE and the position; row limits per statement and a byte limit per answer with a truncation flag; schema browsing and a credential-free probe. caching_sha2_password (fast path, full path over TLS and with the RSA key) is tested with golden exchanges only: MariaDB does not have it and Debian ships no MySQL server.",
  },
  verifiedAgainst: 'mariadb-server 1:10.11.19-0+deb12u1',
  tls: { starttls: true },
  defaultOperation: 'query',
  identify: identification,
  operations: {
    query: operation({
      primary: ['user', 'password', 'database', 'sql', 'params'],
      summary: 'Run SQL: several statements at once (COM_QUERY), or one statement with ? parameters (prepared, binary rows)',
      input: z.object({
        ...credentials,
        sql: z.string().min(1, 'sql is required').max(1024 * 1024),
        params: z.array(z.unknown()).max(65535).optional().describe('Values for ? placeholders: strings, numbers, booleans, null, {hex} for bytes, objects/arrays as JSON'),
        localInfile: z
          .object({
            name: z.string().min(1).max(4096).describe("The file name as the statement writes it: LOAD DATA LOCAL INFILE 'name' ..."),
            content: bytesField(16 * 1024 * 1024).describe("The file's content: text, or {base64}/{hex}"),
          })
          .optional()
          .describe('Opt-in LOAD DATA LOCAL INFILE: the only file the server may ask for, answered when it asks for this name; without it the server refuses LOCAL'),
        ...limitFields,
      }),
      output: z.object({ server: serverInfo, results: z.array(resultSet), truncated: z.boolean(), limit: z.string().optional(), prepared: z.boolean() }),
      maxTimeoutMs: 300_000,
      defaultTimeoutMs: 30_000,
      text: (r) => render(r as unknown as QueryOutcome),
      async run(ctx, input) {
        return withSession(ctx, input, async (s) => {
          const lim: Limits = { maxRows: input.maxRows, maxBytes: input.maxBytes };
          if (input.params !== undefined) {
            const out = await preparedQuery(s, input.sql, input.params.map(toBinaryParam), lim);
            await attachWarnings(s, out);
            return { server: info(s), results: out.results, truncated: out.truncated, ...(out.limit ? { limit: out.limit } : {}), prepared: true };
          }
          const out = await query(s, input.sql, lim);
          await attachWarnings(s, out);
          return { server: info(s), results: out.results, truncated: out.truncated, ...(out.limit ? { limit: out.limit } : {}), prepared: false };
        });
      },
    }),
    schema: operation({
      primary: ['user', 'password', 'database', 'schema', 'table'],
      summary: 'Browse: databases and tables; or, with table, its columns and indexes',
      input: z.object({
        ...credentials,
        schema: z.string().min(1).max(64).optional().describe('Only this database (default: every non-system one); with table, the table\'s database (default: the connection\'s)'),
        table: z.string().min(1).max(64).optional(),
      }),
      output: z.object({
        server: serverInfo,
        databases: z.array(z.record(z.string(), jsonValue)).optional(),
        tables: z.array(z.record(z.string(), jsonValue)).optional(),
        table: z.object({ schema: z.string(), name: z.string(), columns: z.array(z.record(z.string(), jsonValue)), indexes: z.array(z.object({ name: z.string(), unique: z.boolean(), primary: z.boolean(), type: z.string(), columns: z.array(z.string()) })) }).optional(),
      }),
      text: (r) =>
        r.table
          ? [`${r.table.schema}.${r.table.name}`, ...r.table.columns.map((c) => `  ${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}`), ...r.table.indexes.map((i) => `  ${i.primary ? 'PRIMARY' : i.unique ? 'UNIQUE' : 'INDEX'} ${i.name} (${i.columns.join(', ')})`)].join('\n')
          : [`databases: ${(r.databases ?? []).map((d) => d.name).join(', ')}`, ...(r.tables ?? []).map((t) => `${t.schema}.${t.name} (${t.type})`)].join('\n'),
      async run(ctx, input) {
        return withSession(ctx, input, async (s) => {
          if (input.table) {
            const schema = input.schema ?? input.database;
            if (!schema) throw new PortolanError('invalid_input', 'schema: give schema or database to describe a table');
            const columns = asObjects(
              await preparedQuery(
                s,
                `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE = 'YES' AS nullable, COLUMN_DEFAULT AS \`default\`, COLUMN_KEY AS \`key\`, EXTRA AS extra, ORDINAL_POSITION AS position, COLUMN_COMMENT AS comment
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
                [schema, input.table],
                SCHEMA_LIMITS,
              ),
            ).map((c) => ({ ...c, nullable: c.nullable === 1 }));
            const stats = asObjects(
              await preparedQuery(
                s,
                `SELECT INDEX_NAME AS name, NON_UNIQUE AS nonUnique, COLUMN_NAME AS col, INDEX_TYPE AS type FROM information_schema.STATISTICS
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
                [schema, input.table],
                SCHEMA_LIMITS,
              ),
            );
            const indexes: { name: string; unique: boolean; primary: boolean; type: string; columns: string[] }[] = [];
            for (const st of stats) {
              const name = String(st.name);
              let idx = indexes.find((i) => i.name === name);
              if (!idx) indexes.push((idx = { name, unique: Number(st.nonUnique) === 0, primary: name === 'PRIMARY', type: String(st.type), columns: [] }));
              idx.columns.push(String(st.col));
            }
            return { server: info(s), table: { schema, name: input.table, columns, indexes } };
          }
          const databases = asObjects(
            await query(s, 'SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA ORDER BY 1', SCHEMA_LIMITS),
          );
          const tables = asObjects(
            await preparedQuery(
              s,
              `SELECT TABLE_SCHEMA AS \`schema\`, TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine, TABLE_ROWS AS estimatedRows, TABLE_COMMENT AS comment
               FROM information_schema.TABLES WHERE (? IS NULL AND TABLE_SCHEMA NOT IN ${SYSTEM_SCHEMAS}) OR TABLE_SCHEMA = ? ORDER BY 1, 2 LIMIT 5000`,
              [input.schema ?? null, input.schema ?? null],
              SCHEMA_LIMITS,
            ),
          );
          return { server: info(s), databases, tables };
        });
      },
    }),
    probe: operation({
      summary: 'Without credentials: server version, capabilities, default auth plugin, TLS support (from the handshake)',
      input: z.object({}),
      output: z.object({
        protocolVersion: z.number(),
        serverVersion: z.string(),
        mariadb: z.boolean(),
        connectionId: z.number(),
        authPlugin: z.string().nullable(),
        tlsOffered: z.boolean(),
        tlsUsed: z.boolean(),
        capabilities: z.array(z.string()),
        mariadbCapabilities: z.array(z.string()).optional(),
        charset: z.number(),
        statusFlags: z.number(),
      }),
      text: (r) =>
        [
          `server: ${r.serverVersion} (protocol ${r.protocolVersion}${r.mariadb ? ', MariaDB' : ''}), connection ${r.connectionId}`,
          `auth plugin: ${r.authPlugin ?? 'none'}`,
          `TLS: ${r.tlsOffered ? 'offered' : 'not offered'}${r.tlsUsed ? ' (handshake done)' : ''}`,
          `capabilities: ${r.capabilities.join(' ')}`,
        ].join('\n'),
      async run(ctx) {
        const conn = await ctx.dial({ tls: ctx.target.tls === 'off' ? 'off' : 'starttls' });
        const reader = new PacketReader(conn);
        const h = await readHandshake(conn, reader);
        const tlsOffered = (h.capabilities & CLIENT.SSL) !== 0;
        let tlsUsed = false;
        if (ctx.target.tls !== 'off') {
          if (!tlsOffered) throw new PortolanError('tls_error', `TLS was asked for, but the server (${h.serverVersion}) does not offer it: CLIENT_SSL is not in its capabilities`);
          const caps = (CLIENT.LONG_PASSWORD | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.SSL | CLIENT.PLUGIN_AUTH) >>> 0;
          await conn.write(encodePacket(sslRequestPayload(caps), 1).bytes, { decode: 'SSLRequest' });
          await conn.startTls();
          tlsUsed = true;
        }
        const mariadbCapabilities =
          h.mariadbCapabilities === null
            ? undefined
            : Object.entries(MARIADB_CLIENT)
                .filter(([, bit]) => (h.mariadbCapabilities! & bit) !== 0)
                .map(([name]) => name);
        return {
          protocolVersion: h.protocolVersion,
          serverVersion: cleanVersion(h.serverVersion),
          mariadb: /mariadb/i.test(h.serverVersion) || h.mariadbCapabilities !== null,
          connectionId: h.connectionId,
          authPlugin: h.authPluginName,
          tlsOffered,
          tlsUsed,
          capabilities: capabilityNames(h.capabilities),
          ...(mariadbCapabilities ? { mariadbCapabilities } : {}),
          charset: h.charset,
          statusFlags: h.statusFlags,
        };
      },
    }),
  },
});
