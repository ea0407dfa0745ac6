// Lab servers of the messaging-nats area: nats-server with JetStream and accounts (passwords, an NKey user, a user with permissions), one that requires TLS, one with a token.
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';
import { decodeSeed } from '../../src/protocols/nats/nkeys.ts';

const p = ports['messaging-nats'];

/** What the NATS servers are configured with: tests assert against these. */
export const natsFacts = {
  /** server_name of the main server (portolan-<lab name>). */
  serverName: 'portolan-nats',
  account: 'APP',
  user: 'portolan',
  password: 'nats-lab-secret',
  /** A user seed (nkeys "SU..."): the server knows only its public key. */
  nkeySeed: 'SUAAGCQRDAPSMLJUHNBESUCXLZSWY432QGEI7FU5USV3FOOAY7HNLXDKKA',
  /** May publish and subscribe only under public.> (and receive replies on _INBOX.>). */
  limitedUser: 'limited',
  limitedPassword: 'limited-secret',
  limitedSubjects: 'public.>',
  token: 'nats-lab-token-7f3a',
  /** Largest message the servers accept (below the API's 1 MiB body limit, so a test can send one byte more). */
  maxPayload: 256 * 1024,
};

const nkeyPublic = decodeSeed(natsFacts.nkeySeed, 'nkeySeed').publicKey;

function accountsBlock(): string {
  const f = natsFacts;
  return `accounts {
  ${f.account}: {
    jetstream: enabled
    users: [
      { user: "${f.user}", password: "${f.password}" }
      { nkey: "${nkeyPublic}" }
      { user: "${f.limitedUser}", password: "${f.limitedPassword}", permissions: { publish: ["${f.limitedSubjects}"], subscribe: ["${f.limitedSubjects}", "_INBOX.>"] } }
    ]
  }
  SYS: { users: [ { user: "sys", password: "sys-lab-secret" } ] }
}
system_account: SYS
`;
}

async function natsInfo(port: number, expect: string): Promise<void> {
  const got = await exchange(port, { until: (b) => b.includes('\r\n') });
  expectIncludes(`nats-server on ${port}`, got, expect);
}

/** One nats-server: `config` is the body of its configuration after the listen line; healthy once INFO includes `expect`. */
function natsServer(name: string, port: number, expect: string, config: (ctx: LabContext) => string): LabServer {
  return {
    name,
    area: 'messaging-nats',
    packages: ['nats-server'],
    ports: [port],
    async start(ctx) {
      const conf = ctx.writeFile('nats.conf', `server_name: portolan-${name}\nlisten: 127.0.0.1:${port}\nmax_payload: ${natsFacts.maxPayload}\n${config(ctx)}`);
      await ctx.spawnDaemon({ command: '/usr/sbin/nats-server', args: ['-c', conf] });
    },
    async health() {
      await natsInfo(port, expect);
    },
  };
}

const nats = natsServer(
  'nats',
  p.nats,
  '"jetstream":true',
  (ctx) => `jetstream {
  store_dir: "${ctx.dir}/jetstream"
  max_memory_store: 64MB
  max_file_store: 256MB
}
${accountsBlock()}`,
);

const natsTls = natsServer(
  'nats-tls',
  p.natsTls,
  '"tls_required":true',
  (ctx) => `tls {
  cert_file: "${ctx.tls.certPath}"
  key_file: "${ctx.tls.keyPath}"
  timeout: 2
}
${accountsBlock()}`,
);

const natsToken = natsServer('nats-token', p.natsToken, '"auth_required":true', () => `authorization { token: "${natsFacts.token}" }\n`);

export const servers: LabServer[] = [nats, natsTls, natsToken];
