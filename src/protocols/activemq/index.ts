// Apache ActiveMQ's OpenWire: the WireFormatInfo negotiation (version, tight encoding, caching, frame and
// inactivity limits, provider name and version) and the broker's BrokerInfo (name, id, URL, network peers).
import * as z from 'zod';
import { toBase64 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { commandFrame, describeCommand, encodeWireFormatInfo, type BrokerInfo, type Command, type Primitive } from './codec.ts';
import { identification } from './identify.ts';

/** The OpenWire version this client speaks at most (ActiveMQ 5.17 offers 12). */
const OUR_VERSION = 12;

function primitiveJson(v: Primitive): unknown {
  return v instanceof Uint8Array ? { base64: toBase64(v) } : v;
}

export default defineProtocol({
  id: 'activemq',
  title: 'ActiveMQ OpenWire',
  category: 'messaging',
  summary: 'Reads an ActiveMQ broker\'s OpenWire WireFormatInfo (protocol version, provider and version, platform, tight encoding, caching, frame and inactivity limits), negotiates the wire format and reports the BrokerInfo it sends (broker name, id, URL, network peers).',
  ports: [{ port: 61616, transport: 'tcp' }, { port: 61617, transport: 'tls', label: 'OpenWire over TLS (ssl:// connector)' }],
  specs: ['OpenWire Version 2 Specification (activemq.apache.org) and the OpenWire v12 marshallers of ActiveMQ 5'],
  rating: {
    stars: 3,
    reason:
      'WireFormatInfo decoded from bytes (marshalled primitive map, sizes capped) with the version and options the broker offers, our own WireFormatInfo with loose encoding and no caching, and BrokerInfo decoded from the loose encoding with its network peers; lab-tested through workerd against ActiveMQ 5.17 (Debian 12). Not covered: ConnectionInfo (login), sessions, producers and consumers over OpenWire — use stomp against the same broker for messages.',
  },
  verifiedAgainst: 'ActiveMQ 5.17.2 (Debian 12, OpenJDK 17)',
  tls: { implicit: { port: 61617 } },
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Read the broker\'s WireFormatInfo, answer with ours, and report the negotiated version and the BrokerInfo',
      input: z.object({
        brokerInfoMs: z.number().int().min(100).max(30_000).default(3000).describe('How long to wait for BrokerInfo after the negotiation'),
      }),
      output: z.object({
        version: z.number().describe('OpenWire version the broker offers'),
        negotiatedVersion: z.number(),
        provider: z.string().nullable(),
        providerVersion: z.string().nullable(),
        platform: z.string().nullable(),
        options: z.record(z.string(), z.unknown()).describe('Every WireFormatInfo property the broker sent'),
        broker: z
          .object({
            name: z.string().nullable(),
            id: z.string().nullable(),
            url: z.string().nullable(),
            peers: z.array(z.object({ brokerId: z.string().nullable(), brokerUrl: z.string().nullable(), brokerName: z.string().nullable() })),
            slaveBroker: z.boolean(),
            masterBroker: z.boolean(),
            faultTolerantConfiguration: z.boolean(),
            networkConnection: z.boolean(),
            duplexConnection: z.boolean(),
            networkProperties: z.string().nullable(),
          })
          .nullable()
          .describe('BrokerInfo, when the broker sent it in time'),
      }),
      text: (r) =>
        [`${r.provider ?? 'OpenWire'} ${r.providerVersion ?? ''} (OpenWire ${r.version}, negotiated ${r.negotiatedVersion})${r.platform ? ` on ${r.platform}` : ''}`, r.broker ? `broker ${r.broker.name} ${r.broker.url ?? ''} id ${r.broker.id}` : 'no BrokerInfo', `options: ${Object.entries(r.options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dial();
        let version = 1;
        const frame = commandFrame(() => version);
        const first: Command = await conn.readFrame(frame, 'OpenWire command', describeCommand);
        if (first.type !== 'wireformat') throw new ProtocolError(`expected WireFormatInfo first, got ${describeCommand(first)}`);
        version = Math.min(OUR_VERSION, first.version);
        const ours = { TightEncodingEnabled: false, CacheEnabled: false, SizePrefixDisabled: false, TcpNoDelayEnabled: true, StackTraceEnabled: false, MaxInactivityDuration: { long: 30000 }, ProviderName: 'Portolan', PlatformDetails: 'JavaScript' };
        await conn.write(encodeWireFormatInfo(version, ours), { decode: `WireFormatInfo version ${version} (loose encoding, no cache)` });
        let broker: BrokerInfo | null = null;
        await ctx
          .within(input.brokerInfoMs, async () => {
            for (;;) {
              const c = await conn.readFrame(frame, 'OpenWire command', describeCommand);
              if (c.type === 'broker') {
                broker = c;
                return;
              }
            }
          })
          .catch((e: unknown) => {
            // No BrokerInfo within the window: the negotiation result stands on its own.
            if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
          });
        const p = first.properties;
        const str = (v: Primitive | undefined) => (typeof v === 'string' ? v : null);
        const b = broker as BrokerInfo | null;
        return {
          version: first.version,
          negotiatedVersion: version,
          provider: str(p.ProviderName),
          providerVersion: str(p.ProviderVersion),
          platform: str(p.PlatformDetails),
          options: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, primitiveJson(v)])),
          broker: b
            ? { name: b.brokerName, id: b.brokerId, url: b.brokerUrl, peers: b.peers, slaveBroker: b.slaveBroker, masterBroker: b.masterBroker, faultTolerantConfiguration: b.faultTolerantConfiguration, networkConnection: b.networkConnection, duplexConnection: b.duplexConnection, networkProperties: b.networkProperties }
            : null,
        };
      },
    }),
  },
});
