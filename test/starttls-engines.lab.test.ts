// STARTTLS on either TLS engine, for every protocol that has it (through workerd): the protocol's own upgrade, then
// the runtime's TLS (`tlsEngine: runtime`) or Portolan's (`portolan`), then the operation's work over it. Which engine
// carried the connection shows in the transcript: Portolan's engine decodes the server's handshake messages, the
// runtime's TLS shows none. The list of cases must name every protocol the registry gives a STARTTLS mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ports } from '../lab/index.ts';
import { blocksFacts } from '../lab/servers/blocks.ts';
import { directoryFacts } from '../lab/servers/directory.ts';
import { sqlFacts } from '../lab/servers/databases-sql.ts';
import { mailFacts } from '../lab/servers/mail.ts';
import { natsFacts } from '../lab/servers/messaging-nats.ts';
import { newsFacts } from '../lab/servers/news.ts';
import { nodeFacts } from '../lab/servers/node.ts';
import { protocols } from '../src/protocols/all.ts';
import { call } from './harness.ts';

type Engine = 'runtime' | 'portolan';
interface Case {
  protocol: string;
  operation: string;
  input: () => Record<string, unknown>;
  /** What the operation did over TLS, as its own lab test checks it. */
  check: (result: any) => void;
  /** Engines that can serve it (a client certificate is Portolan's engine's alone on Workers). */
  engines?: Engine[];
}

const mail = mailFacts.users;
const host = '127.0.0.1';

const cases: Case[] = [
  {
    protocol: 'ftp',
    operation: 'probe',
    input: () => ({ host, port: ports.ftp.ftp }),
    check: (r) => {
      assert.equal(r.tlsActive, true);
      assert.ok(r.features.includes('PROT'));
    },
  },
  {
    protocol: 'ldap',
    operation: 'whoami',
    input: () => ({ host, port: ports.directory.ldap, bindDn: directoryFacts.ldap.people.bob.dn, password: directoryFacts.ldap.people.bob.password }),
    check: (r) => assert.equal(r.authzId, `dn:${directoryFacts.ldap.people.bob.dn}`),
  },
  {
    protocol: 'postgres',
    operation: 'probe',
    input: () => ({ host: 'localhost', port: ports.databases.postgres, user: 'postgres' }),
    check: (r) => assert.equal(r.tlsUsed, true),
  },
  {
    protocol: 'mysql',
    operation: 'query',
    input: () => {
      const m = sqlFacts.mariadb;
      return { host, port: ports.databases.mariadb, database: m.database, user: m.users.tlsOnly.user, password: m.users.tlsOnly.password, sql: "SHOW SESSION STATUS LIKE 'Ssl_version'" };
    },
    check: (r) => {
      assert.equal(r.server.tls, true);
      assert.match(r.results[0].rows[0][1], /^TLSv1\.[23]$/);
    },
  },
  {
    protocol: 'smtp',
    operation: 'probe',
    input: () => ({ host, port: ports.mail.submission }),
    check: (r) => {
      assert.equal(r.tls.active, true);
      assert.ok(r.authAfter.includes('PLAIN'));
    },
  },
  {
    protocol: 'lmtp',
    operation: 'probe',
    input: () => ({ host, port: ports.mail.lmtp }),
    check: (r) => assert.equal(r.tls.active, true),
  },
  {
    protocol: 'imap',
    operation: 'capabilities',
    input: () => ({ host, port: ports.mail.imap, username: mail.dave.address, password: mail.dave.password }),
    check: (r) => {
      assert.equal(r.tls, true);
      assert.equal(r.authMethod, 'AUTHENTICATE PLAIN');
    },
  },
  {
    protocol: 'pop3',
    operation: 'capabilities',
    input: () => ({ host, port: ports.mail.pop3, username: mail.erin.address, password: mail.erin.password }),
    check: (r) => {
      assert.equal(r.tls, true);
      assert.ok('UIDL' in r.capabilitiesAfterLogin);
    },
  },
  {
    protocol: 'managesieve',
    operation: 'capabilities',
    input: () => ({ host, port: ports.mail.managesieve, username: mail.dave.address, password: mail.dave.password }),
    check: (r) => {
      assert.equal(r.beforeStartTls.starttls, true);
      assert.equal(r.authenticated, true);
    },
  },
  {
    protocol: 'nntp',
    operation: 'capabilities',
    input: () => ({ host, port: ports.news.nntp, username: newsFacts.user.name, password: newsFacts.user.password }),
    check: (r) => {
      assert.equal(r.tls, true);
      assert.equal(r.authMethod, 'USER');
    },
  },
  {
    protocol: 'nats',
    operation: 'probe',
    input: () => ({ host: 'localhost', port: ports['messaging-nats'].natsTls, nkeySeed: natsFacts.nkeySeed }),
    check: (r) => assert.equal(r.tls, true),
  },
  {
    protocol: 'telnet',
    operation: 'exec',
    input: () => ({ host, port: ports.sshftp.telnetAuthSsl, user: nodeFacts.remote.user, password: nodeFacts.remote.password, command: `cat ${nodeFacts.remote.file}` }),
    check: (r) => assert.equal(r.output, nodeFacts.remote.fileText),
  },
  {
    protocol: 'nbd',
    operation: 'exports',
    input: () => ({
      host: 'localhost',
      port: ports.blocks.nbdTls,
      clientCertificate: { certPem: readFileSync(blocksFacts.nbd.clientCertPath, 'utf8'), keyPem: readFileSync(blocksFacts.nbd.clientKeyPath, 'utf8') },
    }),
    check: (r) => assert.deepEqual(r.exports.map((e: { name: string }) => e.name), [blocksFacts.nbd.vault.name]),
    engines: ['portolan'],
  },
];

test('every protocol with a STARTTLS mode has a case here', () => {
  const withStarttls = protocols.filter((p) => p.tlsModes.includes('starttls')).map((p) => p.id);
  assert.deepEqual(cases.map((c) => c.protocol).sort(), [...withStarttls].sort());
});

for (const c of cases) {
  test(`${c.protocol} ${c.operation}: STARTTLS on ${(c.engines ?? ['runtime', 'portolan']).join(' and on ')} TLS, the work done over it`, async () => {
    for (const tlsEngine of c.engines ?? (['runtime', 'portolan'] as const)) {
      const r = await call(c.protocol, c.operation, { ...c.input(), tls: 'starttls', tlsEngine }, { transcript: true });
      assert.equal(r.status, 200, `${tlsEngine}: ${JSON.stringify(r.body.error ?? r.body)}`);
      c.check(r.body.result);
      const decoded = r.body.transcript.entries.filter((e: { decode?: string }) => /^TLS ServerHello/.test(e.decode ?? ''));
      assert.equal(decoded.length, tlsEngine === 'portolan' ? 1 : 0, `${tlsEngine}: the server's handshake messages in the transcript`);
    }
  });
}
