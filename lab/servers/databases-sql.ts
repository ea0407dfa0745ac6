// SQL database lab servers: PostgreSQL 15 (Debian postgresql-15) and MariaDB 10.11 (Debian mariadb-server),
// each once with TLS (the lab certificate) and once without, on their own data dirs and sockets.
import { chownSync, copyFileSync, chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import { labDir } from '../runner.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.databases;
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** What the SQL lab servers are known to hold, for tests to assert against. */
export const sqlFacts = {
  postgres: {
    database: 'portolan',
    /** pg_hba.conf method → user and password. */
    users: {
      trust: { user: 'portolan_trust', password: '' },
      password: { user: 'portolan_password', password: 'cleartext-secret' },
      md5: { user: 'portolan_md5', password: 'md5-secret' },
      scram: { user: 'portolan_scram', password: 'scram-secret' },
    },
    /** Rows of the seeded table portolan.public.harbours. */
    harbours: [
      { id: 1, name: 'Lisboa', depth: '14.50', country: 'PT' },
      { id: 2, name: 'Genova', depth: '15.00', country: 'IT' },
      { id: 3, name: 'Ålesund', depth: null, country: 'NO' },
    ],
  },
  mariadb: {
    database: 'portolan',
    users: {
      native: { user: 'portolan_native', password: 'native-secret' },
      ed25519: { user: 'portolan_ed25519', password: 'ed25519-secret' },
      tlsOnly: { user: 'portolan_tls', password: 'tls-secret' },
      /** REQUIRE X509 (on the TLS server): a client certificate signed by the lab CA, and no password. */
      x509: { user: 'portolan_x509' },
    },
    /** The client certificate for portolan_x509, signed by the lab CA. */
    clientCertPath: join(labDir, 'mariadb', 'client.pem'),
    clientKeyPath: join(labDir, 'mariadb', 'client.key'),
    harbours: [
      { id: 1, name: 'Lisboa', depth: '14.50', country: 'PT' },
      { id: 2, name: 'Genova', depth: '15.00', country: 'IT' },
      { id: 3, name: 'Ålesund', depth: null, country: 'NO' },
    ],
  },
} as const;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (error) {
      last = error;
      await sleep(200);
    }
  }
  throw new Error(`${what}: ${last instanceof Error ? last.message : String(last)}`);
}

function ownTree(path: string, user: 'postgres' | 'mysql', uid: number, gid: number): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chownSync(path, uid, gid);
  void user;
}

async function ids(ctx: LabContext, user: string): Promise<{ uid: number; gid: number }> {
  const [, , uid, gid] = (await ctx.exec('getent', ['passwd', user])).trim().split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

// ---------------------------------------------------------------- PostgreSQL

const PG_SEED = (facts: typeof sqlFacts.postgres) => `
SET password_encryption = 'scram-sha-256';
CREATE ROLE ${facts.users.trust.user} LOGIN;
CREATE ROLE ${facts.users.password.user} LOGIN PASSWORD '${facts.users.password.password}';
CREATE ROLE ${facts.users.scram.user} LOGIN PASSWORD '${facts.users.scram.password}';
SET password_encryption = 'md5';
CREATE ROLE ${facts.users.md5.user} LOGIN PASSWORD '${facts.users.md5.password}';
CREATE DATABASE ${facts.database} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
GRANT ALL ON DATABASE ${facts.database} TO PUBLIC;
\\connect ${facts.database}
GRANT ALL ON SCHEMA public TO PUBLIC;
CREATE TABLE harbours (id integer PRIMARY KEY, name text NOT NULL, depth numeric(6,2), country char(2) NOT NULL DEFAULT 'PT');
CREATE INDEX harbours_country ON harbours (country);
COMMENT ON TABLE harbours IS 'Seeded by the Portolan lab';
INSERT INTO harbours VALUES ${facts.harbours.map((h) => `(${h.id}, '${h.name}', ${h.depth ?? 'NULL'}, '${h.country}')`).join(', ')};
GRANT ALL ON harbours TO PUBLIC;
`;

function pgServer(name: string, port: number, tls: boolean): LabServer {
  return {
    name,
    area: 'databases-sql',
    packages: ['postgresql-15', 'postgresql-client-15'],
    ports: [port],
    async start(ctx) {
      const { uid, gid } = await ids(ctx, 'postgres');
      chownSync(ctx.dir, uid, gid);
      const data = join(ctx.dir, 'data');
      rmSync(data, { recursive: true, force: true });
      ownTree(data, 'postgres', uid, gid);
      const pwfile = ctx.writeFile('superuser.pw', 'lab-superuser\n', 0o600);
      chownSync(pwfile, uid, gid);
      await ctx.exec('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'initdb'), '-D', data, '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--auth-local=trust', '--auth-host=reject', `--pwfile=${pwfile}`], { cwd: ctx.dir });
      const conf: string[] = [
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = '${ctx.dir}'`,
        `max_connections = 60`,
        `shared_buffers = 16MB`,
        `fsync = off`,
        `synchronous_commit = off`,
        `full_page_writes = off`,
        `log_destination = 'stderr'`,
        `logging_collector = off`,
        `log_connections = on`,
      ];
      if (tls) {
        // The server refuses a key readable by others: give it its own 0600 copy.
        const cert = join(data, 'server.crt');
        const key = join(data, 'server.key');
        copyFileSync(ctx.tls.certPath, cert);
        copyFileSync(ctx.tls.keyPath, key);
        chmodSync(key, 0o600);
        chownSync(cert, uid, gid);
        chownSync(key, uid, gid);
        conf.push(`ssl = on`, `ssl_cert_file = '${cert}'`, `ssl_key_file = '${key}'`);
      } else {
        conf.push(`ssl = off`);
      }
      ctx.writeFile('data/postgresql.auto.conf', `${conf.join('\n')}\n`, 0o600);
      chownSync(join(data, 'postgresql.auto.conf'), uid, gid);
      const u = sqlFacts.postgres.users;
      const hba = [
        'local all postgres trust',
        `host all ${u.trust.user} 127.0.0.1/32 trust`,
        `host all ${u.password.user} 127.0.0.1/32 password`,
        `host all ${u.md5.user} 127.0.0.1/32 md5`,
        `host all ${u.scram.user} 127.0.0.1/32 scram-sha-256`,
        `host all postgres 127.0.0.1/32 scram-sha-256`,
      ];
      ctx.writeFile('data/pg_hba.conf', `${hba.join('\n')}\n`, 0o600);
      chownSync(join(data, 'pg_hba.conf'), uid, gid);
      await ctx.spawnDaemon({ command: 'runuser', args: ['-u', 'postgres', '--', join(PG_BIN, 'postgres'), '-D', data] });
      await retry('postgres did not accept connections', () => ctx.exec(join(PG_BIN, 'pg_isready'), ['-h', ctx.dir, '-p', String(port), '-U', 'postgres']));
      await ctx.exec('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'psql'), '-h', ctx.dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-f', '-'], {
        input: PG_SEED(sqlFacts.postgres),
        cwd: ctx.dir,
      });
    },
    async health(ctx) {
      // SSLRequest: 'S' where TLS is on, 'N' where it is off.
      const answer = await exchange(port, { send: Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), until: (b) => b.length >= 1, timeoutMs: 1500 });
      const want = tls ? 'S' : 'N';
      if (answer.toString('latin1', 0, 1) !== want) throw new Error(`${name}: SSLRequest answered ${JSON.stringify(answer.toString('latin1', 0, 1))}, expected ${want}`);
      const out = await ctx.exec(join(PG_BIN, 'psql'), [
        `host=127.0.0.1 port=${port} user=${sqlFacts.postgres.users.trust.user} dbname=${sqlFacts.postgres.database} sslmode=${tls ? 'require' : 'disable'}`,
        '-Atc',
        'SELECT count(*) FROM harbours',
      ]);
      if (out.trim() !== String(sqlFacts.postgres.harbours.length)) throw new Error(`${name}: harbours has ${out.trim()} rows`);
    },
  };
}

// ---------------------------------------------------------------- MariaDB

const MARIADB_SEED = (facts: typeof sqlFacts.mariadb, tls: boolean) => `
CREATE DATABASE ${facts.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER '${facts.users.native.user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${facts.users.native.password}');
CREATE USER '${facts.users.ed25519.user}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${facts.users.ed25519.password}');
CREATE USER '${facts.users.tlsOnly.user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${facts.users.tlsOnly.password}') ${tls ? 'REQUIRE SSL' : ''};
GRANT ALL ON ${facts.database}.* TO '${facts.users.native.user}'@'%';
GRANT ALL ON ${facts.database}.* TO '${facts.users.ed25519.user}'@'%';
GRANT ALL ON ${facts.database}.* TO '${facts.users.tlsOnly.user}'@'%';
${tls ? `CREATE USER '${facts.users.x509.user}'@'%' REQUIRE X509;
GRANT ALL ON ${facts.database}.* TO '${facts.users.x509.user}'@'%';` : ''}
USE ${facts.database};
CREATE TABLE harbours (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, depth DECIMAL(6,2) NULL, country CHAR(2) NOT NULL DEFAULT 'PT', KEY harbours_country (country)) COMMENT 'Seeded by the Portolan lab';
INSERT INTO harbours VALUES ${facts.harbours.map((h) => `(${h.id}, '${h.name}', ${h.depth ?? 'NULL'}, '${h.country}')`).join(', ')};
FLUSH PRIVILEGES;
`;

/** A client certificate signed by the lab CA, for the REQUIRE X509 user. */
async function clientCertificate(ctx: LabContext): Promise<void> {
  const { clientCertPath, clientKeyPath } = sqlFacts.mariadb;
  mkdirSync(join(labDir, 'mariadb'), { recursive: true });
  const csr = join(ctx.dir, 'client.csr');
  await ctx.exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', clientKeyPath, '-subj', '/O=Portolan Lab/OU=clients/CN=portolan_x509', '-out', csr]);
  await ctx.exec('openssl', ['x509', '-req', '-sha256', '-days', '825', '-in', csr, '-CA', ctx.tls.caPath, '-CAkey', join(ctx.labDir, 'ca.key'), '-CAcreateserial', '-CAserial', join(ctx.dir, 'ca.srl'), '-out', clientCertPath]);
}

function mariadbServer(name: string, port: number, tls: boolean): LabServer {
  return {
    name,
    area: 'databases-sql',
    packages: ['mariadb-server', 'mariadb-client'],
    ports: [port],
    async start(ctx) {
      const { uid, gid } = await ids(ctx, 'mysql');
      const data = join(ctx.dir, 'data');
      rmSync(data, { recursive: true, force: true });
      ownTree(data, 'mysql', uid, gid);
      chownSync(ctx.dir, uid, gid);
      const socket = join(ctx.dir, 'mysqld.sock');
      const options = [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--user=mysql',
        `--pid-file=${join(ctx.dir, 'mariadbd.pid')}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=16M',
        '--innodb-log-file-size=16M',
        '--performance-schema=OFF',
        '--skip-log-bin',
        '--max-connections=60',
        '--plugin-load-add=auth_ed25519',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        // LOAD DATA LOCAL INFILE is the client's to offer; the server allows it.
        '--local-infile=1',
      ];
      if (tls) {
        options.push(`--ssl-ca=${ctx.tls.caPath}`, `--ssl-cert=${ctx.tls.certPath}`, `--ssl-key=${ctx.tls.keyPath}`);
        await clientCertificate(ctx);
      }
      await ctx.exec('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=socket', '--skip-test-db'], { cwd: ctx.dir });
      await ctx.spawnDaemon({ command: '/usr/sbin/mariadbd', args: options });
      await retry('mariadbd did not accept connections', () => ctx.exec('mariadb-admin', ['--no-defaults', `--socket=${socket}`, '-u', 'root', 'ping']));
      await ctx.exec('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root'], { input: MARIADB_SEED(sqlFacts.mariadb, tls) });
    },
    async health(ctx) {
      // Handshake v10: capability bit CLIENT_SSL (0x0800) in the lower capability flags tells TLS.
      const hello = await exchange(port, { until: (b) => b.length >= 4 && b.length >= 4 + b.readUIntLE(0, 3), timeoutMs: 1500 });
      if (hello[4] !== 10) throw new Error(`${name}: no handshake v10 (got ${hello.subarray(0, 8).toString('hex')})`);
      const versionEnd = hello.indexOf(0, 5);
      const capsLow = hello.readUInt16LE(versionEnd + 1 + 4 + 8 + 1);
      if (Boolean(capsLow & 0x0800) !== tls) throw new Error(`${name}: CLIENT_SSL is ${capsLow & 0x0800 ? 'on' : 'off'}, expected ${tls ? 'on' : 'off'}`);
      const u = sqlFacts.mariadb.users.native;
      const out = await ctx.exec('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', u.user, `-p${u.password}`, '-N', '-B', '-e', `SELECT count(*) FROM ${sqlFacts.mariadb.database}.harbours`]);
      if (out.trim() !== String(sqlFacts.mariadb.harbours.length)) throw new Error(`${name}: harbours has ${out.trim()} rows`);
    },
  };
}

export const servers: LabServer[] = [
  pgServer('postgres', p.postgres, true),
  pgServer('postgres-plain', p.postgresPlain, false),
  mariadbServer('mariadb', p.mariadb, true),
  mariadbServer('mariadb-plain', p.mariadbPlain, false),
];
