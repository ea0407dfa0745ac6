// NetBIOS over TCP/IP (RFC 1001/1002): the session service's session request on 139, and the name service's
// NODE STATUS (NBSTAT) and NAME QUERY requests over UDP 137.
import * as z from 'zod';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import {
  checkName,
  decodeNameServiceResponse,
  decodeSessionPacket,
  describeSession,
  displayName,
  nameServiceRequest,
  RCODES,
  sessionFrame,
  sessionRequest,
  type NameServiceResponse,
  type NetbiosName,
} from './codec.ts';

const nameField = (what: string, example: string) =>
  z
    .string()
    .min(1, `${what} is required`)
    .max(15, `${what}: NetBIOS names have at most 15 characters`)
    .regex(/^[\x20-\x7e]+$/, `${what}: printable ASCII only`)
    .meta({ examples: [example] });
const suffixField = (what: string, dflt: number) => z.number().int().min(0).max(255).default(dflt).describe(`${what} suffix (service type): 0x20 file server, 0x00 workstation, 0x1d master browser ...`);
const scopeField = z.string().max(200).default('').describe('NetBIOS scope (RFC 1001 §14.1); empty for none');

function nameOf(name: string, suffix: number, scope: string, field: string): NetbiosName {
  const n = { name, suffix, scope };
  try {
    checkName(n);
  } catch (e) {
    throw InvalidInput.field(field, (e as Error).message);
  }
  return n;
}

const nodeName = z.object({
  name: z.string(),
  suffix: z.number(),
  display: z.string().describe('NAME<xx> as nbtstat prints it'),
  group: z.boolean(),
  nodeType: z.enum(['B', 'P', 'M', 'H']),
  active: z.boolean(),
  permanent: z.boolean(),
  conflict: z.boolean(),
  deregistering: z.boolean(),
  meaning: z.string(),
});

function nsAccept(id: number, kind: 'NB' | 'NBSTAT') {
  return (bytes: Uint8Array): NameServiceResponse | undefined => {
    if (bytes.length < 2 || ((bytes[0] << 8) | bytes[1]) !== id) return undefined;
    const r = decodeNameServiceResponse(bytes);
    return r.kind === kind || r.kind === 'empty' ? r : undefined;
  };
}

const describeNs = (bytes: Uint8Array) => {
  try {
    const r = decodeNameServiceResponse(bytes);
    if (r.kind === 'NBSTAT') return `NODE STATUS RESPONSE ${r.names.map(displayName).join(' ')}${r.unitId ? ` unit ${r.unitId}` : ''}`;
    if (r.kind === 'NB') return `NAME QUERY RESPONSE ${displayName(r.name)} ${r.addresses.map((a) => a.address).join(' ')}`;
    return `response rcode ${r.rcode} ${RCODES[r.rcode] ?? ''}`;
  } catch (e) {
    return `malformed: ${(e as Error).message}`;
  }
};

export default defineProtocol({
  id: 'netbios',
  title: 'NetBIOS',
  category: 'directory',
  summary: 'NetBIOS over TCP/IP (RFC 1001/1002): asks the session service on 139 for a session with a called name, and a host\'s name service (UDP 137) for its name table (NBSTAT) or a name\'s addresses.',
  ports: [
    { port: 139, transport: 'tcp', label: 'session service' },
    { port: 137, transport: 'udp', label: 'name service' },
  ],
  specs: ['RFC 1001', 'RFC 1002'],
  rating: {
    stars: 3,
    reason:
      'The session request with positive, negative (each called-name error with its meaning) and retarget responses, through workerd against Samba 4.17\'s smbd; the node status (NBSTAT) query with every name, its flags and the adapter\'s MAC, and the name query, over UDP on the Node host against nmbd in a network namespace. Not covered: name registration, release and refresh, datagram service (138), WINS replication, and what runs inside a session (SMB).',
  },
  verifiedAgainst: 'Samba 4.17.12 (smbd, nmbd)',
  defaultOperation: 'nbstat',
  identify: { unprobed: 'a session request needs the called NetBIOS name' },
  operations: {
    session: operation({
      summary: 'Session request (RFC 1002 §4.3.2): does the host accept a session for the called name?',
      input: z.object({
        calledName: nameField('calledName', '*SMBSERVER').default('*SMBSERVER').describe('The name called: the server\'s NetBIOS name, or *SMBSERVER'),
        calledSuffix: suffixField('Called name', 0x20),
        callingName: nameField('callingName', 'PORTOLAN').default('PORTOLAN').describe('Our own name, as the server will log it'),
        callingSuffix: suffixField('Calling name', 0x00),
        scope: scopeField,
      }),
      output: z.object({
        response: z.enum(['positive', 'negative', 'retarget']),
        accepted: z.boolean(),
        errorCode: z.number().nullable(),
        meaning: z.string().nullable(),
        retarget: z.object({ address: z.string(), port: z.number() }).nullable(),
        called: z.string(),
        calling: z.string(),
      }),
      text: (r) => `${r.called}: ${r.accepted ? 'session accepted (POSITIVE SESSION RESPONSE)' : r.retarget ? `retarget to ${r.retarget.address}:${r.retarget.port}` : `refused: 0x${r.errorCode?.toString(16)} ${r.meaning}`}`,
      async run(ctx, input) {
        const called = nameOf(input.calledName, input.calledSuffix, input.scope, 'calledName');
        const calling = nameOf(input.callingName, input.callingSuffix, input.scope, 'callingName');
        const conn = await ctx.dial();
        await conn.write(sessionRequest(called, calling), { decode: `SESSION REQUEST called ${displayName(called)} calling ${displayName(calling)}${input.scope ? ` scope ${input.scope}` : ''}` });
        const p = decodeSessionPacket(await conn.readFrame(sessionFrame(1024), 'session response', (v) => describeSession(decodeSessionPacket(v))));
        const base = { called: displayName(called), calling: displayName(calling) };
        if (p.type === 'positive') return { ...base, response: 'positive' as const, accepted: true, errorCode: null, meaning: null, retarget: null };
        if (p.type === 'negative') return { ...base, response: 'negative' as const, accepted: false, errorCode: p.errorCode, meaning: p.meaning, retarget: null };
        if (p.type === 'retarget') return { ...base, response: 'retarget' as const, accepted: false, errorCode: null, meaning: null, retarget: { address: p.address, port: p.port } };
        throw new ProtocolError(`NetBIOS: ${p.type === 'other' ? `packet type 0x${p.code.toString(16)}` : p.type} in answer to a session request`);
      },
    }),
    nbstat: operation({
      summary: 'Node status (NBSTAT, RFC 1002 §4.2.17): every name the host has registered, with its flags, and the adapter\'s MAC address',
      needs: ['udp'],
      defaultPort: 137,
      input: z.object({ name: nameField('name', '*').default('*').describe('The name asked about: * for whatever the host is'), suffix: suffixField('Name', 0x00), scope: scopeField, ...retryFields() }),
      output: z.object({ names: z.array(nodeName), unitId: z.string().nullable().describe('The adapter\'s MAC address (unit ID), as the host reports it'), rcode: z.number(), attempts: z.number(), rttMs: z.number() }),
      text: (r) => [...r.names.map((n) => `${n.display.padEnd(20)} ${n.group ? 'GROUP ' : 'UNIQUE'} ${n.active ? 'Registered' : ''}${n.conflict ? ' Conflict' : ''}  ${n.meaning}`), `MAC Address = ${r.unitId ?? 'unknown'}`].join('\n'),
      async run(ctx, input) {
        const name = nameOf(input.name, input.suffix, input.scope, 'name');
        const id = ctx.crypto.randomBytes(2).reduce((a, b) => (a << 8) | b, 0);
        const conn = await ctx.dialUdp();
        const got = await exchange(ctx, conn, nameServiceRequest(id, name, 'NBSTAT'), { retries: input.retries, waitMs: input.waitMs, what: 'NODE STATUS RESPONSE', describeRequest: `NODE STATUS REQUEST ${displayName(name)}`, describeAnswer: describeNs, accept: nsAccept(id, 'NBSTAT') });
        const r = got.value;
        if (r.kind !== 'NBSTAT') throw new ProtocolError(`NetBIOS: node status answered with no name table (rcode ${r.rcode} ${RCODES[r.rcode] ?? ''})`);
        return { names: r.names.map((n) => ({ ...n, display: displayName(n) })), unitId: r.unitId, rcode: r.rcode, attempts: got.attempts, rttMs: got.rttMs };
      },
    }),
    query: operation({
      summary: 'Name query (RFC 1002 §4.2.12): the addresses a name resolves to, asked of one host',
      needs: ['udp'],
      defaultPort: 137,
      input: z.object({ name: nameField('name', 'FILESERVER'), suffix: suffixField('Name', 0x20), scope: scopeField, ...retryFields() }),
      output: z.object({ found: z.boolean(), rcode: z.number(), rcodeText: z.string(), addresses: z.array(z.object({ address: z.string(), group: z.boolean(), nodeType: z.string() })), ttl: z.number().nullable(), attempts: z.number(), rttMs: z.number() }),
      text: (r) => (r.found ? r.addresses.map((a) => `${a.address}${a.group ? ' (group)' : ''}`).join('\n') : `not found: ${r.rcodeText}`),
      async run(ctx, input) {
        const name = nameOf(input.name, input.suffix, input.scope, 'name');
        const id = ctx.crypto.randomBytes(2).reduce((a, b) => (a << 8) | b, 0);
        const conn = await ctx.dialUdp();
        const got = await exchange(ctx, conn, nameServiceRequest(id, name, 'NB'), { retries: input.retries, waitMs: input.waitMs, what: 'NAME QUERY RESPONSE', describeRequest: `NAME QUERY REQUEST ${displayName(name)}`, describeAnswer: describeNs, accept: nsAccept(id, 'NB') });
        const r = got.value;
        const base = { rcode: r.rcode, rcodeText: RCODES[r.rcode] ?? `rcode ${r.rcode}`, attempts: got.attempts, rttMs: got.rttMs };
        if (r.kind !== 'NB' || r.rcode !== 0) return { ...base, found: false, addresses: [], ttl: null };
        return { ...base, found: true, addresses: r.addresses, ttl: r.ttl };
      },
    }),
  },
});
