// SSH-2, RFC 4251-4254: probe a server without credentials, run commands; a client on the crypto port (WebCrypto, @noble).
import * as z from 'zod';
import { fromBase64, fromUtf8, toBase64, toHex, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { openSession, probe, serverSummary, type AuthInput } from './client.ts';
import { execCommand } from './connection.ts';
import { Conn } from '../../core/conn.ts';
import { classify, PortolanError } from '../../core/errors.ts';
import { ChannelTransport } from './dialer.ts';
import { openShell, runShellScript, shellSession, TERMINAL_MODES } from './session.ts';
import { forwardSession } from './forward.ts';
import { serveAgent, SshAgent } from './agent.ts';
import { parsePrivateKey } from './keys.ts';
import { fingerprintSha256 } from './hostkey.ts';
import { fileType, SftpClient, type Attrs } from './sftp.ts';
import { scpReceive, scpSend, shellQuote } from './scp.ts';
import { baseName, ByteCollector, inlineContent, memorySource, tapSink } from '../../core/files.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { identification } from './identify.ts';

const algorithmList = z.array(z.string().min(1).max(64)).min(1).max(32);

/** Fields every operation shares: host key pinning and the algorithm offer. */
const connectFields = {
  hostKeyFingerprint: z
    .union([z.string().max(128), z.array(z.string().max(128)).min(1).max(16)])
    .optional()
    .describe('Expected host key fingerprint(s), as ssh-keygen -l prints them (SHA256:…); a mismatch fails with untrusted_peer'),
  knownHosts: z
    .string()
    .max(256 * 1024)
    .optional()
    .describe('known_hosts lines for the target; the server key must match one of them for this host, or come in a valid host certificate from a CA named by an @cert-authority line'),
  algorithms: z
    .object({
      kex: algorithmList.optional(),
      hostKey: algorithmList.optional(),
      cipher: algorithmList.optional(),
      mac: algorithmList.optional(),
    })
    .strict()
    .optional()
    .describe('Restrict our offer (first is preferred): kex, hostKey, cipher, mac lists'),
  rekeyLimitBytes: z.number().int().min(16 * 1024).max(2 ** 40).optional().describe('Start a key re-exchange after this many bytes (default 1 GiB), like OpenSSH RekeyLimit'),
  rekeyIntervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .optional()
    .describe('Start a key re-exchange after this many seconds, also on an idle session (default 3600), like the second argument of OpenSSH RekeyLimit'),
};

const authFields = {
  username: z.string().min(1, 'username is required').max(256).describe('User name'),
  password: z.string().max(4096).optional().describe('Password (password or keyboard-interactive)'),
  privateKey: z.string().max(64 * 1024).optional().describe('Private key file: OpenSSH (optionally encrypted), PEM PKCS#1, SEC1 or PKCS#8'),
  passphrase: z.string().max(1024).optional().describe('Passphrase of an encrypted private key'),
  certificate: z
    .string()
    .max(16 * 1024)
    .optional()
    .describe('OpenSSH user certificate of privateKey (the id_*-cert.pub line ssh-keygen -s writes); publickey authentication presents it instead of the bare key'),
  responses: z.array(z.string().max(4096)).max(32).optional().describe('Answers to keyboard-interactive prompts, in order'),
};

const certificateOut = z.object({
  type: z.string(),
  keyId: z.string(),
  serial: z.string(),
  principals: z.array(z.string()),
  validAfter: z.string(),
  validBefore: z.string(),
  ca: z.string().describe('SHA256 fingerprint of the CA key that signed it'),
  caType: z.string(),
  criticalOptions: z.array(z.string()),
  extensions: z.array(z.string()),
});
const hostKeyOut = z.object({
  algorithm: z.string(),
  type: z.string(),
  bits: z.number(),
  fingerprint: z.string(),
  publicKey: z.string(),
  certificate: certificateOut.optional().describe('The host certificate the key came in (when knownHosts names a @cert-authority for the host)'),
});
const serverOut = z.object({
  version: z.string(),
  hostKey: hostKeyOut,
  algorithms: z.object({ kex: z.string(), hostKey: z.string(), cipher: z.string(), mac: z.string().nullable(), strictKex: z.boolean() }),
  keyExchanges: z.number(),
});

const encoding = z.enum(['utf8', 'base64']).default('utf8').describe('How stdout and stderr are returned');

/** Base64 of large buffers in 48 KiB slices joined once, so the string is not built from a million tiny pieces. */
function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let at = 0; at < bytes.length; at += 49152) parts.push(toBase64(bytes.subarray(at, at + 49152)));
  return parts.join('');
}

function encode(bytes: Uint8Array, how: 'utf8' | 'base64'): string {
  return how === 'base64' ? base64(bytes) : fromUtf8(bytes);
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Runs scp on the server over an exec channel (`command`) and `fn` on the channel as a Conn; standard
 * error is kept apart and, with a non-zero exit status, is the error the user sees (scp's own words).
 */
async function withScp<T>(ctx: OperationContext, input: TargetFields & Omit<AuthInput, 'host' | 'port'>, command: string, fn: (conn: Conn) => Promise<T>): Promise<T> {
  const s = await openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port });
  const ch = await s.connection.openSession();
  if (!(await ch.request('exec', true, (w) => w.string(command)))) throw new ServerError(`the server refused to run scp (exec ${command})`);
  ctx.timing.mark('execMs');
  const stderr = new ByteCollector(4096);
  const conn = new Conn({ transport: new ChannelTransport(ch, 'scp', ctx.target.host, (d) => void stderr.write(d)), signal: () => ctx.signal, transcript: ctx.transcript, host: ctx.target.host, port: ctx.target.port, tls: 'off' });
  const said = () => fromUtf8(stderr.bytes()).trim();
  let out: T;
  try {
    out = await fn(conn);
  } catch (e) {
    // A server without scp, or scp failing before its protocol began, says why on standard error.
    if (classify(e).code === 'closed' && said()) throw new ServerError(said(), { command, exitStatus: ch.exitStatus });
    throw e;
  }
  await ch.eof().catch(() => {});
  await ch.closed();
  if (ch.exitStatus !== null && ch.exitStatus !== 0) throw new ServerError(said() || `scp exited with status ${ch.exitStatus}`, { command, exitStatus: ch.exitStatus });
  await s.transport.disconnect();
  return out;
}

/** Runs `fn` on an SFTP session (subsystem channel) and ends it cleanly. */
async function withSftp<T>(ctx: OperationContext, input: TargetFields & Omit<AuthInput, 'host' | 'port'>, fn: (sftp: SftpClient) => Promise<T>): Promise<T> {
  const s = await openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port });
  const sftp = await SftpClient.open(s.connection);
  ctx.timing.mark('sftpMs');
  const out = await fn(sftp);
  await sftp.end();
  await s.transport.disconnect();
  return out;
}

const agentFields = {
  forwardAgent: z
    .boolean()
    .default(false)
    .describe(
      'Forward an agent (auth-agent-req@openssh.com) holding privateKey and agentKeys, allowed to sign for this run: ssh or git on the server authenticate with them through this client. End to end only (Run in this browser, or the CLI on your machine): the keys stay on your side, never on the Worker',
    ),
  agentKeys: z
    .array(z.object({ privateKey: z.string().max(64 * 1024), passphrase: z.string().max(1024).optional() }).strict())
    .max(8)
    .optional()
    .describe('More private keys for the forwarded agent, besides privateKey'),
};

const agentOut = z.object({
  forwarded: z.boolean().describe("The server's answer to auth-agent-req@openssh.com"),
  keys: z.array(z.string()).describe('SHA256 fingerprints of the keys the agent holds'),
  requests: z.array(
    z.object({
      request: z.enum(['identities', 'sign', 'extension', 'other']),
      key: z.string().optional(),
      algorithm: z.string().optional(),
      detail: z.string().optional(),
      answered: z.enum(['identities', 'signature', 'failure']),
    }),
  ),
});

/** The agent for forwardAgent: the login key and agentKeys, parsed before any connection; refused where the keys would sit on the Worker. */
async function agentOf(ctx: OperationContext, input: { privateKey?: string; passphrase?: string; agentKeys?: { privateKey: string; passphrase?: string }[] }): Promise<{ agent: SshAgent; fingerprints: string[] }> {
  if (ctx.runtime === 'workers') {
    throw InvalidInput.field('forwardAgent', 'runs end to end only (Run in this browser, or the CLI on your machine): a forwarded agent signs with keys that stay on your side, never on the Worker');
  }
  const keys = [];
  if (input.privateKey !== undefined) keys.push(await parsePrivateKey(ctx.crypto, input.privateKey, input.passphrase));
  for (const [i, k] of (input.agentKeys ?? []).entries()) {
    keys.push(
      await parsePrivateKey(ctx.crypto, k.privateKey, k.passphrase).catch((e) => {
        const issue = (classify(e).detail?.issues as { field: string; message: string }[] | undefined)?.[0];
        throw issue ? InvalidInput.field(`agentKeys.${i}.${issue.field}`, issue.message) : e;
      }),
    );
  }
  if (keys.length === 0) throw InvalidInput.field('forwardAgent', 'needs a key to hold: privateKey or agentKeys');
  return { agent: new SshAgent(ctx.crypto, keys), fingerprints: await Promise.all(keys.map((k) => fingerprintSha256(ctx.crypto, k.publicBlob))) };
}

const terminalFields = {
  term: z.string().min(1).max(64).regex(/^[A-Za-z0-9._+-]+$/).default('xterm-256color'),
  cols: z.number().int().min(1).max(1000).default(80),
  rows: z.number().int().min(1).max(1000).default(24),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(4096)).optional(),
  modes: z.record(z.enum(Object.keys(TERMINAL_MODES) as [string, ...string[]]), z.number().int().min(0).max(0xffffffff)).optional().describe('Terminal modes (RFC 4254 8) by name'),
};

const remotePath = z.string().min(1, 'path is required').max(4096).describe('Remote path (relative paths start in the home directory)');
const octalMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'mode is octal, like 644 or 0755')
  .describe('Permission bits in octal')
  .meta({ examples: ['0644'] });
const parseMode = (m: string) => parseInt(m, 8);

function attrsJson(a: Attrs) {
  return {
    type: fileType(a.permissions),
    size: a.size ?? null,
    mode: a.permissions !== undefined ? octal(a.permissions) : null,
    uid: a.uid ?? null,
    gid: a.gid ?? null,
    atime: a.atime !== undefined ? new Date(a.atime * 1000).toISOString() : null,
    mtime: a.mtime !== undefined ? new Date(a.mtime * 1000).toISOString() : null,
  };
}

const attrsOut = z.object({ type: z.string(), size: z.number().nullable(), mode: z.string().nullable(), uid: z.number().nullable(), gid: z.number().nullable(), atime: z.string().nullable(), mtime: z.string().nullable() });
const sftpFields = { ...authFields, ...connectFields };
/** An upload's file inline, for the JSON form; a streamed upload leaves it out. */
const inlineFields = {
  content: z.string().max(1024 * 1024).describe('The file inline (UTF-8 text, or base64); left out when the file is streamed'),
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
};
const done = z.object({ path: z.string(), done: z.literal(true) });

export default defineProtocol({
  id: 'ssh',
  title: 'SSH',
  category: 'remote',
  summary: 'Secure Shell: probes a server (banner, algorithms, host keys, auth methods, weak algorithms), runs commands and shells, transfers files of any size (SFTP, SCP) and forwards TCP, with host key pinning.',
  ports: [{ port: 22, transport: 'tcp' }],
  specs: ['RFC 4251', 'draft-ietf-secsh-filexfer-02', 'RFC 4252', 'RFC 4253', 'RFC 4254', 'RFC 4256', 'RFC 4344', 'RFC 4419', 'RFC 5656', 'RFC 8268', 'RFC 8308', 'RFC 8332', 'RFC 8709', 'RFC 8731', 'draft-ietf-sshm-ntruprime-ssh'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against OpenSSH 9.2: probe (banner, KEXINIT lists, every host key fingerprint, auth methods, weak algorithms); exec (stdout/stderr apart, exit status and signal, stdin, env, window flow control, re-keying started by either side, by volume and by time, also while idle); every combination of 9 key exchanges x 6 host key algorithms x 15 cipher/MAC suites (810 connections), the post-quantum sntrup761x25519-sha512 (our own Streamlined NTRU Prime sntrup761; also under its @openssh.com name) among them and first in our offer; password, keyboard-interactive and publickey with 14 key files (OpenSSH plain and bcrypt-encrypted, PEM PKCS#1, SEC1, PKCS#8); host key pinning by fingerprint and known_hosts; OpenSSH certificates (src/protocols/ssh/cert.lab.test.ts: host certificates checked against @cert-authority lines, Ed25519 and RSA, refused when from another CA, expired, revoked; user certificates with TrustedUserCAKeys, Ed25519 and rsa-sha2-512-cert-v01, refusals from another CA, expired or for another principal explained from the certificate beside the USERAUTH_FAILURE the server sends); SFTP v3 (ls, stat, get and put streamed as files with pipelined reads and writes, 1 GiB each way byte-identical, resume from an offset, a session dropped mid-file never a complete download; mkdir, rmdir, rm, rename, chmod, symlink, readlink, realpath; src/protocols/ssh/files.lab.test.ts); SCP over exec (scp -f and scp -t, 64 MiB each way, refusals in the words scp prints); the terminal over WebSocket (resize, credit flow control, asciicast v2, timed re-keying while idle) and a scripted shell; direct-tcpip (`direct-tcpip`) and local port forwarding as a session (`forward`: Redis, Memcached and a 3 MiB echo at once over one SSH connection, per-channel windows under the session\'s credit, a target the server refuses failing alone with its reason, src/protocols/ssh/forward.lab.test.ts; `portolan ssh forward -L` with redis-cli, cli/sshforward.lab.test.ts); agent forwarding end to end (the page\'s client over /api/tunnel answers auth-agent@openssh.com channels with keys that stay in the page: ssh-add -l on the server lists them and ssh to a second account signs through them, Ed25519 and RSA with rsa-sha2-512, src/protocols/ssh/agent.lab.test.ts, and in headless Chromium, web/e2e/ssh-e2e.lab.test.ts; refused on the Worker); bad peers; the client over /api/tunnel relaying only ciphertext, also in headless Chromium (web/e2e/ssh-e2e.lab.test.ts); `via` jump hosts for any operation through workerd (PostgreSQL and Redis behind the lab sshd, test/via.lab.test.ts), with a user certificate and a host certificate checked against @cert-authority (cert.lab.test.ts). Not covered: mlkem768x25519-sha256 (OpenSSH 9.2 offers none to test against); forwarded agent signatures are allowed per session, not confirmed one by one.',
  },
  verifiedAgainst: 'OpenSSH sshd 1:9.2p1-2+deb12u10 (Debian 12)',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Banner, every algorithm list, host key fingerprints per type, auth methods and weak algorithms, without credentials',
      input: z.object({
        username: z.string().min(1).max(256).default('portolan').describe('User name for the `none` request that lists auth methods'),
        ...connectFields,
      }),
      output: z.object({
        banner: z.object({ version: z.string(), protocol: z.string(), software: z.string(), comments: z.string().nullable(), preamble: z.array(z.string()) }),
        kexinit: z.record(z.string(), z.array(z.string())),
        strictKex: z.boolean(),
        extInfo: z.boolean(),
        negotiated: serverOut.shape.algorithms,
        extensions: z.array(z.string()),
        hostKeys: z.array(z.union([hostKeyOut.extend({ fingerprintMd5: z.string() }), z.object({ algorithm: z.string(), type: z.string(), error: z.string() })])),
        authMethods: z.array(z.string()).nullable(),
        authBanner: z.string().nullable(),
        weak: z.array(z.object({ algorithm: z.string(), category: z.string(), severity: z.string(), reason: z.string() })),
        notSupportedHere: z.array(z.string()),
      }),
      text: (r) =>
        [
          r.banner.version,
          ...r.hostKeys.map((k) => ('fingerprint' in k ? `${k.bits} ${k.fingerprint} (${k.type})` : `${k.type}: ${k.error}`)),
          `auth methods: ${r.authMethods?.join(',') ?? '(none needed)'}`,
          ...Object.entries(r.kexinit).map(([k, v]) => `${k}: ${v.join(',')}`),
          ...r.weak.map((w) => `${w.severity}: ${w.algorithm} (${w.reason})`),
        ].join('\n'),
      run: (ctx, input) => probe(ctx, { ...input, host: ctx.target.host, port: ctx.target.port }),
    }),
    exec: operation({
      primary: ['username', 'password', 'privateKey', 'command'],
      summary: 'Run one command (exec) and return stdout, stderr and the exit status or signal',
      input: z.object({
        ...authFields,
        ...connectFields,
        command: z.string().min(1, 'command is required').max(64 * 1024),
        stdin: z.string().max(512 * 1024).optional().describe('Bytes for the command\'s standard input (UTF-8 text)'),
        env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are letters, digits and _'), z.string().max(4096)).optional().describe('Environment variables (the server accepts only those its AcceptEnv lists)'),
        pty: z.boolean().default(false).describe('Allocate a terminal (pty-req) for the command'),
        maxOutputBytes: z.number().int().min(0).max(16 * 1024 * 1024).default(1024 * 1024).describe('Cap per stream; the rest is read and dropped'),
        encoding,
        ...agentFields,
      }),
      output: z.object({
        stdout: z.string(),
        stderr: z.string(),
        encoding: z.enum(['utf8', 'base64']),
        exitStatus: z.number().nullable(),
        exitSignal: z.object({ name: z.string(), coreDumped: z.boolean(), message: z.string() }).nullable(),
        truncated: z.boolean(),
        server: serverOut,
        auth: z.object({ method: z.string().nullable(), banner: z.string().nullable() }),
        agent: agentOut.nullable().describe('What the forwarded agent did (forwardAgent)'),
      }),
      text: (r) => r.stdout + (r.stderr ? `\n--- stderr\n${r.stderr}` : '') + `\n--- exit ${r.exitSignal ? `signal ${r.exitSignal.name}` : r.exitStatus}`,
      async run(ctx, input) {
        const agent = input.forwardAgent ? await agentOf(ctx, input) : null;
        const s = await openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port });
        if (agent) serveAgent(s.connection, agent.agent);
        const result = await execCommand(s.connection, input.command, {
          forwardAgent: input.forwardAgent,
          env: input.env,
          stdin: input.stdin !== undefined ? utf8(input.stdin) : undefined,
          maxOutput: input.maxOutputBytes,
          pty: input.pty ? { term: 'xterm-256color', cols: 80, rows: 24 } : undefined,
        });
        ctx.timing.mark('execMs');
        await s.transport.disconnect();
        return {
          stdout: encode(result.stdout, input.encoding),
          stderr: encode(result.stderr, input.encoding),
          encoding: input.encoding,
          exitStatus: result.exitStatus,
          exitSignal: result.exitSignal,
          truncated: result.truncated,
          server: serverSummary(s.transport),
          auth: { method: s.auth.method, banner: s.auth.banner },
          agent: agent ? { forwarded: result.agentForwarded === true, keys: agent.fingerprints, requests: agent.agent.events } : null,
        };
      },
    }),
    terminal: operation({
      primary: ['username', 'password', 'privateKey'],
      summary: 'A terminal on the server: your login shell, live in the page, with an optional recording',
      messages: 'Binary frames are keystrokes and terminal output. Client: {"type":"resize","cols","rows"}, {"type":"signal","name"}, {"type":"interrupt"}, {"type":"eof"}, {"type":"ack","bytes"}, {"type":"stop"}. Server: {"type":"connected","server","auth"} once the shell runs.',
      input: z.object({
        ...authFields,
        ...connectFields,
        ...terminalFields,
        record: z.boolean().default(false).describe('Return an asciicast v2 recording with the result'),
        recordInput: z.boolean().default(false).describe('Also record the keys typed (off: a password typed at a prompt never lands in the recording)'),
        window: z.number().int().min(16 * 1024).max(16 * 1024 * 1024).default(1024 * 1024).describe('Output bytes sent ahead of the client\'s acks'),
        keepaliveMs: z.number().int().min(0).max(600_000).default(30_000).describe('keepalive@openssh.com interval; 0 disables'),
        connectTimeoutMs: z.number().int().min(100).max(60_000).default(15_000),
      }),
      output: z.object({
        ended: z.enum(['server', 'client']),
        exitStatus: z.number().nullable(),
        exitSignal: z.object({ name: z.string(), coreDumped: z.boolean(), message: z.string() }).nullable(),
        bytesIn: z.number(),
        bytesOut: z.number(),
        asciicast: z.string().nullable(),
        recordingTruncated: z.boolean(),
        keyExchanges: z.number().describe('1 plus every key re-exchange during the session'),
      }),
      session: (ctx, input, channel) => shellSession(ctx, input, channel),
    }),
    shell: operation({
      primary: ['username', 'password', 'privateKey', 'steps'],
      summary: 'Interactive shell with a terminal (pty-req), played from a script of steps (send, expect, resize, signal); output and an asciicast v2 recording',
      input: z.object({
        ...authFields,
        ...connectFields,
        ...terminalFields,
        steps: z
          .array(
            z
              .object({
                send: z.string().max(64 * 1024).optional(),
                expect: z.string().max(1024).optional(),
                resize: z.object({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }).optional(),
                signal: z.string().regex(/^[A-Z0-9]{1,16}$/, 'a signal name without SIG, like INT').optional(),
                sleepMs: z.number().int().min(0).max(10_000).optional(),
              })
              .strict(),
          )
          .max(200)
          .default([]),
        expectTimeoutMs: z.number().int().min(10).max(60_000).default(5000),
        maxOutputBytes: z.number().int().min(0).max(16 * 1024 * 1024).default(1024 * 1024),
        record: z.boolean().default(false).describe('Return an asciicast v2 recording of the session'),
      }),
      output: z.object({
        output: z.string(),
        truncated: z.boolean(),
        exitStatus: z.number().nullable(),
        exitSignal: z.object({ name: z.string(), coreDumped: z.boolean(), message: z.string() }).nullable(),
        stillRunning: z.boolean(),
        asciicast: z.string().nullable(),
        server: serverOut,
      }),
      maxTimeoutMs: 120_000,
      defaultTimeoutMs: 30_000,
      text: (r) => r.output,
      async run(ctx, input) {
        const s = await openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port });
        const ch = await openShell(s.connection, input);
        const result = await runShellScript(ctx, ch, input);
        await s.transport.disconnect();
        return { ...result, server: serverSummary(s.transport) };
      },
    }),
    forward: operation({
      primary: ['username', 'password', 'privateKey'],
      summary: 'Local port forwarding: one SSH connection carries many TCP connections, each opened from the SSH server to a target of your choice (direct-tcpip), as `ssh -L` does',
      messages:
        'Client: {"type":"open","id","host","port"} opens connection `id` (0 to 2^31-1) from the SSH server to host:port; binary frames are a connection\'s bytes behind its id (uint32, big-endian); {"type":"eof","id"} ends what you send, {"type":"close","id"} closes it; {"type":"ack","bytes"}; {"type":"stop"}. Server: {"type":"connected","server","auth"}; {"type":"opened","id"}; {"type":"failed","id","error"} (the SSH server\'s reason for that connection only); binary frames as the client\'s; {"type":"sent","id","bytes"} once your bytes went into the connection\'s SSH channel (keep at most 1 MiB per connection unconfirmed: a connection past it is cut off with failed); {"type":"eof","id"}; {"type":"closed","id","bytesIn","bytesOut"}.',
      input: z.object({
        ...authFields,
        ...connectFields,
        maxConnections: z.number().int().min(1).max(200).default(64).describe('Connections open at once'),
        window: z.number().int().min(16 * 1024).max(16 * 1024 * 1024).default(1024 * 1024).describe("Bytes sent to the client ahead of its acks, across all connections"),
        keepaliveMs: z.number().int().min(0).max(600_000).default(30_000).describe('keepalive@openssh.com interval; 0 disables'),
        connectTimeoutMs: z.number().int().min(100).max(60_000).default(15_000),
      }),
      output: z.object({
        ended: z.enum(['server', 'client']),
        connections: z.number().describe('Connections asked for'),
        failed: z.number().describe('Connections the SSH server refused'),
        bytesIn: z.number(),
        bytesOut: z.number(),
        keyExchanges: z.number(),
      }),
      session: (ctx, input, channel) => forwardSession(ctx, input, channel),
    }),
    'direct-tcpip': operation({
      primary: ['username', 'password', 'privateKey', 'toHost', 'toPort', 'send'],
      summary: 'Open a TCP connection from the SSH server to another host (direct-tcpip), send bytes and return what comes back',
      input: z.object({
        ...authFields,
        ...connectFields,
        toHost: z.string().min(1).max(253).describe('Host to connect to, as the SSH server resolves it'),
        toPort: z.number().int().min(1).max(65535),
        send: z.string().max(256 * 1024).default(''),
        sendEncoding: z.enum(['utf8', 'base64']).default('utf8'),
        readMs: z.number().int().min(0).max(30_000).default(1000).describe('How long to collect the answer after sending (ends earlier when the peer closes or maxBytes arrive)'),
        maxBytes: z.number().int().min(1).max(4 * 1024 * 1024).default(64 * 1024),
        encoding,
      }),
      output: z.object({ received: z.string(), bytes: z.number(), encoding: z.string(), closedByPeer: z.boolean(), server: serverOut }),
      text: (r) => r.received,
      async run(ctx, input) {
        const s = await openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port });
        const ch = await s.connection.openDirectTcpip(input.toHost, input.toPort).catch((e) => {
          // RFC 4254 7.2: the server could not connect (OPEN_FAILURE); for the user the target refused.
          const err = classify(e);
          throw err.code === 'server_error' ? new PortolanError('refused', `${input.toHost}:${input.toPort} via SSH: ${err.message}`, err.detail) : err;
        });
        const conn = new Conn({ transport: new ChannelTransport(ch, `${input.toHost}:${input.toPort}`, ctx.target.host), signal: () => ctx.signal, transcript: ctx.transcript, host: input.toHost, port: input.toPort, tls: 'off' });
        let data: Uint8Array;
        try {
          data = input.sendEncoding === 'base64' ? fromBase64(input.send) : utf8(input.send);
        } catch {
          throw InvalidInput.field('send', 'is not valid base64');
        }
        if (data.length > 0) await conn.write(data);
        const parts: Uint8Array[] = [];
        let size = 0;
        let closedByPeer = false;
        await ctx
          .within(input.readMs, async () => {
            while (size < input.maxBytes) {
              const chunk = await conn.read(input.maxBytes - size);
              if (!chunk) {
                closedByPeer = true;
                break;
              }
              parts.push(chunk);
              size += chunk.length;
            }
          })
          .catch((e) => {
            if (classify(e).code !== 'io_timeout') throw e;
          });
        await conn.close();
        await s.transport.disconnect();
        const all = new Uint8Array(size);
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        return { received: encode(all, input.encoding), bytes: size, encoding: input.encoding, closedByPeer, server: serverSummary(s.transport) };
      },
    }),
    'sftp-ls': operation({
      primary: ['username', 'password', 'privateKey', 'path'],
      summary: 'SFTP: list a directory',
      input: z.object({ ...sftpFields, path: remotePath.default('.'), maxEntries: z.number().int().min(1).max(10_000).default(1000) }),
      output: z.object({ path: z.string(), entries: z.array(attrsOut.extend({ name: z.string(), longname: z.string() })), truncated: z.boolean() }),
      text: (r) => r.entries.map((e) => e.longname || e.name).join('\n'),
      run: (ctx, input) =>
        withSftp(ctx, input, async (sftp) => {
          const path = await sftp.realpath(input.path);
          const { entries, truncated } = await sftp.list(path, input.maxEntries);
          return { path, entries: entries.map((e) => ({ name: e.filename, longname: e.longname, ...attrsJson(e.attrs) })), truncated };
        }),
    }),
    'sftp-stat': operation({
      summary: 'SFTP: attributes of a path (STAT, or LSTAT without following symlinks)',
      input: z.object({ ...sftpFields, path: remotePath, followSymlinks: z.boolean().default(true) }),
      output: attrsOut.extend({ path: z.string() }),
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => ({ path: input.path, ...attrsJson(await sftp.stat(input.path, input.followSymlinks)) })),
    }),
    'sftp-get': operation({
      summary:
        'SFTP: download a file (pipelined reads): streamed, of any size, with Accept: application/octet-stream (Range: bytes=N- resumes) or as a WebSocket transfer; in JSON, content as base64 or UTF-8 up to maxBytes and the SHA-256 of all of it',
      transfer: { direction: 'download', resume: true },
      input: z.object({
        ...sftpFields,
        path: remotePath,
        offset: z.number().int().min(0).optional().describe('Start at this byte; a stream\'s Range header sets it too'),
        length: z.number().int().min(0).optional().describe('Read at most this many bytes'),
        output: z.enum(['base64', 'utf8', 'none']).default('base64').describe('JSON answer: none gives only size and SHA-256 (for files of any size)'),
        maxBytes: z.number().int().min(0).max(8 * 1024 * 1024).default(8 * 1024 * 1024).describe('Content kept in the JSON answer (at most 8 MiB; larger files stream); the SHA-256 covers the whole file'),
        sha256: z.boolean().default(true).describe('JSON answer: hash the whole file (SHA-256 in JavaScript costs CPU on large files)'),
      }),
      output: z.object({ path: z.string(), size: z.number(), sha256: z.string().nullable(), content: z.string().nullable(), encoding: z.string(), truncated: z.boolean(), bytesPerSecond: z.number() }),
      defaultTimeoutMs: 60_000,
      text: (r) => r.content ?? `${r.size} bytes${r.sha256 ? `, sha256 ${r.sha256}` : ''}`,
      run: (ctx, input) =>
        withSftp(ctx, input, async (sftp) => {
          const t0 = Date.now();
          const rate = (n: number) => Math.round((n * 1000) / Math.max(1, Date.now() - t0));
          if (ctx.download) {
            const offset = ctx.download.offset ?? input.offset ?? 0;
            const { handle, attrs } = await sftp.openRead(input.path);
            const sink = await ctx.download
              .begin({
                name: baseName(input.path),
                // With `length` the stream may stop before the end: no length is promised then.
                size: input.length === undefined ? (attrs.size ?? null) : null,
                offset,
                modified: attrs.mtime !== undefined ? new Date(attrs.mtime * 1000).toISOString() : null,
                meta: { mode: attrsJson(attrs).mode, fileSize: attrs.size },
              })
              .catch(async (e) => {
                await sftp.close(handle).catch(() => {});
                throw e;
              });
            const size = await sftp.download(input.path, sink, { handle, offset, length: input.length });
            return { path: input.path, size, sha256: null, content: null, encoding: 'none', truncated: false, bytesPerSecond: rate(size) };
          }
          const collector = new ByteCollector(input.output === 'none' ? 0 : input.maxBytes);
          const hash = input.sha256 ? sha256.create() : null;
          await sftp.download(input.path, hash ? tapSink(collector, (c) => hash.update(c)) : collector, { offset: input.offset, length: input.length });
          return {
            path: input.path,
            size: collector.size,
            sha256: hash ? toHex(hash.digest()) : null,
            content: input.output === 'none' ? null : encode(collector.bytes(), input.output),
            encoding: input.output,
            truncated: input.output !== 'none' && collector.truncated,
            bytesPerSecond: rate(collector.size),
          };
        }),
    }),
    'sftp-put': operation({
      summary: 'SFTP: upload a file (create or truncate, or append; pipelined writes): streamed, of any size, as multipart/form-data (part input, then part file) or a WebSocket transfer; or inline content up to 1 MiB',
      transfer: { direction: 'upload', content: 'content' },
      input: z.object({
        ...sftpFields,
        path: remotePath,
        ...inlineFields,
        mode: octalMode.optional(),
        append: z.boolean().default(false),
      }),
      output: z.object({ path: z.string(), bytes: z.number(), sha256: z.string().nullable().describe('Of the inline content; null when streamed'), size: z.number().nullable() }),
      defaultTimeoutMs: 60_000,
      run: (ctx, input) => {
        const inline = ctx.upload ? undefined : inlineContent(input.content, input.encoding);
        return withSftp(ctx, input, async (sftp) => {
          const bytes = await sftp.uploadFrom(input.path, ctx.upload ?? memorySource(inline!), { mode: input.mode ? parseMode(input.mode) : undefined, append: input.append });
          const after = await sftp.stat(input.path);
          return { path: input.path, bytes, sha256: inline ? toHex(await ctx.crypto.digest('SHA-256', inline)) : null, size: after.size ?? null };
        });
      },
    }),
    'scp-get': operation({
      summary:
        "SCP: download a file with OpenSSH's scp protocol (scp -f over exec): streamed, of any size, with Accept: application/octet-stream or as a WebSocket transfer (the size comes first); in JSON, content as base64 or UTF-8 up to maxBytes",
      transfer: { direction: 'download' },
      input: z.object({
        ...sftpFields,
        path: remotePath,
        output: z.enum(['base64', 'utf8', 'none']).default('base64').describe('JSON answer: none gives only size and SHA-256'),
        maxBytes: z.number().int().min(0).max(8 * 1024 * 1024).default(8 * 1024 * 1024).describe('Content kept in the JSON answer (at most 8 MiB; larger files stream); the SHA-256 covers the whole file'),
        sha256: z.boolean().default(true).describe('JSON answer: hash the whole file'),
      }),
      output: z.object({
        path: z.string(),
        name: z.string().describe('The name in the C record'),
        size: z.number(),
        mode: z.string(),
        modified: z.string().nullable(),
        sha256: z.string().nullable(),
        content: z.string().nullable(),
        encoding: z.string(),
        truncated: z.boolean(),
      }),
      defaultTimeoutMs: 60_000,
      text: (r) => r.content ?? `${r.size} bytes${r.sha256 ? `, sha256 ${r.sha256}` : ''}`,
      run: (ctx, input) =>
        withScp(ctx, input, `scp -p -f -- ${shellQuote(input.path)}`, async (conn) => {
          let collector: ByteCollector | undefined;
          const hash = !ctx.download && input.sha256 ? sha256.create() : null;
          const file = await scpReceive(conn, input.path, async (f) => {
            const info = { name: f.name, size: f.size, modified: f.mtime === null ? null : new Date(f.mtime * 1000).toISOString(), meta: { mode: octal(f.mode) } };
            if (ctx.download) return ctx.download.begin(info);
            collector = new ByteCollector(input.output === 'none' ? 0 : input.maxBytes);
            return hash ? tapSink(collector, (c) => hash.update(c)) : collector;
          });
          return {
            path: input.path,
            name: file.name,
            size: file.size,
            mode: octal(file.mode),
            modified: file.mtime === null ? null : new Date(file.mtime * 1000).toISOString(),
            sha256: hash ? toHex(hash.digest()) : null,
            content: collector && input.output !== 'none' ? encode(collector.bytes(), input.output) : null,
            encoding: collector ? input.output : 'none',
            truncated: collector !== undefined && input.output !== 'none' && collector.truncated,
          };
        }),
    }),
    'scp-put': operation({
      summary:
        "SCP: upload a file with OpenSSH's scp protocol (scp -t over exec): streamed, of any size, as multipart/form-data (part input with size, then part file) or a WebSocket transfer; or inline content up to 1 MiB",
      transfer: { direction: 'upload', content: 'content' },
      input: z.object({
        ...sftpFields,
        path: remotePath,
        ...inlineFields,
        mode: octalMode.default('0644'),
        size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('Bytes of a streamed file: scp announces the size before the bytes (a WebSocket transfer may say it in its start message)'),
      }),
      output: z.object({ path: z.string(), bytes: z.number(), sha256: z.string().nullable().describe('Of the inline content; null when streamed') }),
      defaultTimeoutMs: 60_000,
      run: (ctx, input) => {
        const inline = ctx.upload ? undefined : inlineContent(input.content, input.encoding);
        const size = inline?.length ?? input.size ?? ctx.upload?.size;
        if (size === undefined) throw InvalidInput.field('size', 'is required for a streamed upload: scp announces the size before the bytes');
        if (inline && input.size !== undefined && input.size !== inline.length) throw InvalidInput.field('size', `is ${input.size}, but the content has ${inline.length} bytes`);
        return withScp(ctx, input, `scp -t -- ${shellQuote(input.path)}`, async (conn) => {
          const bytes = await scpSend(conn, input.path, { name: baseName(input.path), mode: parseMode(input.mode), size }, ctx.upload ?? memorySource(inline!));
          return { path: input.path, bytes, sha256: inline ? toHex(await ctx.crypto.digest('SHA-256', inline)) : null };
        });
      },
    }),
    'sftp-mkdir': operation({
      summary: 'SFTP: create a directory',
      input: z.object({ ...sftpFields, path: remotePath, mode: octalMode.optional() }),
      output: done,
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => (await sftp.mkdir(input.path, input.mode ? parseMode(input.mode) : undefined), { path: input.path, done: true as const })),
    }),
    'sftp-rmdir': operation({
      summary: 'SFTP: remove an empty directory',
      input: z.object({ ...sftpFields, path: remotePath }),
      output: done,
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => (await sftp.rmdir(input.path), { path: input.path, done: true as const })),
    }),
    'sftp-rm': operation({
      summary: 'SFTP: remove a file',
      input: z.object({ ...sftpFields, path: remotePath }),
      output: done,
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => (await sftp.remove(input.path), { path: input.path, done: true as const })),
    }),
    'sftp-rename': operation({
      summary: 'SFTP: rename or move a path',
      input: z.object({ ...sftpFields, path: remotePath, to: remotePath }),
      output: z.object({ path: z.string(), to: z.string() }),
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => (await sftp.rename(input.path, input.to), { path: input.path, to: input.to })),
    }),
    'sftp-chmod': operation({
      summary: 'SFTP: change permission bits (SETSTAT)',
      input: z.object({ ...sftpFields, path: remotePath, mode: octalMode }),
      output: attrsOut.extend({ path: z.string() }),
      run: (ctx, input) =>
        withSftp(ctx, input, async (sftp) => {
          await sftp.setstat(input.path, { permissions: parseMode(input.mode) });
          return { path: input.path, ...attrsJson(await sftp.stat(input.path)) };
        }),
    }),
    'sftp-symlink': operation({
      summary: 'SFTP: create a symbolic link at path pointing to target',
      input: z.object({ ...sftpFields, path: remotePath, target: z.string().min(1).max(4096) }),
      output: z.object({ path: z.string(), target: z.string() }),
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => (await sftp.symlink(input.target, input.path), { path: input.path, target: await sftp.readlink(input.path) })),
    }),
    'sftp-readlink': operation({
      summary: 'SFTP: the target of a symbolic link',
      input: z.object({ ...sftpFields, path: remotePath }),
      output: z.object({ path: z.string(), target: z.string() }),
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => ({ path: input.path, target: await sftp.readlink(input.path) })),
    }),
    'sftp-realpath': operation({
      summary: 'SFTP: the canonical absolute path',
      input: z.object({ ...sftpFields, path: remotePath.default('.') }),
      output: z.object({ path: z.string(), realpath: z.string() }),
      run: (ctx, input) => withSftp(ctx, input, async (sftp) => ({ path: input.path, realpath: await sftp.realpath(input.path) })),
    }),
  },
});
