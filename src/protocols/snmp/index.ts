// SNMP v1/v2c, RFC 1157 and RFC 3416: GET, GETNEXT, GETBULK and walks, over UDP (Node host) or TCP (RFC 3430, both hosts).
import * as z from 'zod';
import { isOid } from '../../core/ber.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { retryFields } from '../datagram/exchange.ts';
import { SnmpSession, TCP_ALTERNATIVE } from './client.ts';
import { compareOids, errorStatusName, oidUnder, type Message, type VarBind } from './codec.ts';
import { nameOf, resolveOid } from './names.ts';
import { identification } from './identify.ts';

const oidText = z
  .string()
  .trim()
  .min(1)
  .max(512)
  .transform((v, c) => {
    const resolved = resolveOid(v);
    if (!resolved || !isOid(resolved)) {
      c.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not an OID: use dotted numbers (1.3.6.1.2.1.1.1.0) or a known name such as sysDescr.0, system, ifTable` });
      return z.NEVER;
    }
    return resolved;
  });

const common = {
  community: z.string().min(1).max(255).default('public').describe('Community string (v1/v2c: the password; masked in the transcript)'),
  version: z.enum(['v1', 'v2c']).default('v2c').describe('SNMP version: v1 (RFC 1157) or v2c (RFC 1901)'),
  transport: z.enum(['udp', 'tcp']).default('udp').describe('udp (port 161, Node host only) or tcp (RFC 3430, where the agent listens on TCP)'),
  ...retryFields({ retries: 2, waitMs: 1500 }),
};

const varbind = z.object({
  oid: z.string(),
  name: z.string().nullable().describe('Symbolic name, for the OIDs Portolan knows'),
  type: z.string(),
  value: z.union([z.string(), z.number(), z.null()]),
  hex: z.string().optional(),
  text: z.string().optional(),
});

const answer = z.object({
  version: z.enum(['v1', 'v2c']),
  transport: z.enum(['udp', 'tcp']),
  varbinds: z.array(varbind),
  attempts: z.number().describe('UDP: sends until the answer came (1 + retransmissions)'),
});

type Input = { community: string; version: 'v1' | 'v2c'; transport: 'udp' | 'tcp'; retries: number; waitMs: number };

function named(v: VarBind): z.infer<typeof varbind> {
  return { ...v, name: nameOf(v.oid) };
}

function render(varbinds: z.infer<typeof varbind>[]): string {
  if (varbinds.length === 0) return '(no variables)';
  return varbinds
    .map((v) => {
      const value = v.type === 'TimeTicks' ? `(${v.value}) ${v.text}` : v.value === null ? '' : String(v.value);
      return `${v.name ?? v.oid} = ${v.type}${value === '' ? '' : `: ${value}`}`;
    })
    .join('\n');
}

/** RFC 3416 §4.2.1 / RFC 1157 §4.1.2: a non-zero error-status is the agent's refusal, naming the varbind. */
function throwOnError(m: Message, oids: readonly string[]): void {
  const { errorStatus, errorIndex } = m.pdu;
  if (errorStatus === 0) return;
  const which = errorIndex > 0 ? (oids[errorIndex - 1] ?? m.pdu.varbinds[errorIndex - 1]?.oid) : undefined;
  throw new ServerError(`agent answered ${errorStatusName(errorStatus)} (error-status ${errorStatus})${which ? ` for ${nameOf(which) ?? which} (varbind ${errorIndex})` : ''}`, {
    errorStatus: errorStatusName(errorStatus),
    errorIndex,
    oid: which ?? null,
  });
}

async function open(ctx: OperationContext, input: Input): Promise<SnmpSession> {
  return SnmpSession.open(ctx, input);
}

const oidsField = z.array(oidText).min(1, 'give at least one OID').max(64).describe('OIDs, dotted or by name (sysDescr.0)').meta({ examples: [['1.3.6.1.2.1.1.1.0', 'sysUpTime.0']] });

export default defineProtocol({
  id: 'snmp',
  title: 'SNMP',
  category: 'monitoring',
  summary: 'Reads an SNMP agent (v1/v2c): GET, GETNEXT, GETBULK and subtree walks, values typed and named; over UDP on the Node host, or TCP (RFC 3430) anywhere.',
  ports: [{ port: 161, transport: 'udp' }, { port: 161, transport: 'tcp', label: 'RFC 3430' }],
  specs: ['RFC 1157', 'RFC 1901', 'RFC 3416', 'RFC 3417', 'RFC 3430', 'RFC 2578'],
  rating: {
    stars: 4,
    reason:
      'v1 and v2c GET, GETNEXT, GETBULK and walks (GETBULK on v2c, GETNEXT on v1) over UDP with retransmission and over TCP; every SMIv2 type and the noSuchObject/noSuchInstance/endOfMibView exceptions; agent errors with the failing varbind; community masked in the transcript. Lab-tested against net-snmp snmpd over UDP and TCP. No SET, no SNMPv3 (USM).',
  },
  verifiedAgainst: 'net-snmp snmpd 5.9.3+dfsg-2+deb12u1',
  defaultOperation: 'get',
  identify: identification,
  operations: {
    get: operation({
      primary: ['oids', 'community', 'version'],
      alternatives: [TCP_ALTERNATIVE],
      summary: 'GET: the values of the given OIDs',
      input: z.object({ oids: oidsField.default(['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.3.0', '1.3.6.1.2.1.1.5.0']), ...common }),
      output: answer,
      text: (r) => render(r.varbinds),
      shortRoute: (extra) => (extra ? { oids: extra.split(',') } : {}),
      async run(ctx, input) {
        const s = await open(ctx, input);
        const { message, attempts } = await s.request('GetRequest', input.oids);
        throwOnError(message, input.oids);
        return { version: input.version, transport: input.transport, varbinds: message.pdu.varbinds.map(named), attempts };
      },
    }),
    getnext: operation({
      primary: ['oids', 'community', 'version'],
      alternatives: [TCP_ALTERNATIVE],
      summary: 'GETNEXT: the variable after each given OID',
      input: z.object({ oids: oidsField, ...common }),
      output: answer,
      text: (r) => render(r.varbinds),
      async run(ctx, input) {
        const s = await open(ctx, input);
        const { message, attempts } = await s.request('GetNextRequest', input.oids);
        throwOnError(message, input.oids);
        return { version: input.version, transport: input.transport, varbinds: message.pdu.varbinds.map(named), attempts };
      },
    }),
    getbulk: operation({
      primary: ['oids', 'community', 'version'],
      alternatives: [TCP_ALTERNATIVE],
      summary: 'GETBULK (v2c): non-repeaters once, then up to max-repetitions successors of the rest',
      input: z.object({
        oids: oidsField,
        nonRepeaters: z.number().int().min(0).max(64).default(0).describe('How many of the first OIDs get one GETNEXT only'),
        maxRepetitions: z.number().int().min(1).max(1000).default(10).describe('Successors returned for each remaining OID'),
        ...common,
        version: z.literal('v2c').default('v2c').describe('GETBULK exists from v2c on (RFC 3416 §4.2.3)'),
      }),
      output: answer,
      text: (r) => render(r.varbinds),
      async run(ctx, input) {
        const s = await open(ctx, input);
        const { message, attempts } = await s.request('GetBulkRequest', input.oids, { nonRepeaters: input.nonRepeaters, maxRepetitions: input.maxRepetitions });
        throwOnError(message, input.oids);
        return { version: input.version, transport: input.transport, varbinds: message.pdu.varbinds.map(named), attempts };
      },
    }),
    walk: operation({
      primary: ['oid', 'community', 'version'],
      alternatives: [TCP_ALTERNATIVE],
      summary: 'Walk a subtree: GETBULK on v2c, GETNEXT on v1, until the subtree or the MIB view ends',
      input: z.object({
        oid: oidText.default('1.3.6.1.2.1.1').describe('Subtree root, dotted or by name (system, ifTable)'),
        maxRepetitions: z.number().int().min(1).max(200).default(25).describe('v2c: variables asked for per GETBULK'),
        maxRows: z.number().int().min(1).max(100_000).default(2000).describe('Stop after this many variables'),
        ...common,
      }),
      output: answer.extend({ requests: z.number(), truncated: z.boolean() }),
      maxTimeoutMs: 120_000,
      defaultTimeoutMs: 30_000,
      text: (r) => render(r.varbinds) + (r.truncated ? `\n… stopped after ${r.varbinds.length} variables (maxRows)` : ''),
      shortRoute: (extra) => (extra ? { oid: extra } : {}),
      async run(ctx, input) {
        const s = await open(ctx, input);
        const rows: VarBind[] = [];
        let cursor = input.oid;
        let requests = 0;
        let attempts = 0;
        let truncated = false;
        walking: for (;;) {
          requests++;
          const { message, attempts: a } = input.version === 'v2c'
            ? await s.request('GetBulkRequest', [cursor], { nonRepeaters: 0, maxRepetitions: Math.min(input.maxRepetitions, input.maxRows - rows.length + 1) })
            : await s.request('GetNextRequest', [cursor]);
          attempts += a;
          // RFC 1157 §4.1.3: v1 signals the end of the MIB with noSuchName.
          if (input.version === 'v1' && message.pdu.errorStatus === 2) break;
          throwOnError(message, [cursor]);
          if (message.pdu.varbinds.length === 0) break;
          for (const vb of message.pdu.varbinds) {
            if (vb.type === 'endOfMibView' || !oidUnder(vb.oid, input.oid)) break walking;
            // RFC 3416 §4.2.2: each successor is strictly greater; anything else would loop forever.
            if (compareOids(vb.oid, cursor) <= 0) throw new ProtocolError(`agent returned ${vb.oid} after ${cursor}: OIDs not increasing`);
            if (rows.length >= input.maxRows) {
              truncated = true;
              break walking;
            }
            rows.push(vb);
            cursor = vb.oid;
          }
        }
        return { version: input.version, transport: input.transport, varbinds: rows.map(named), attempts, requests, truncated };
      },
    }),
  },
});
