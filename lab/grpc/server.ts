// The lab's gRPC server, built on a real gRPC implementation: @grpc/grpc-js with server reflection
// (@grpc/reflection: grpc.reflection.v1 and v1alpha) and the standard health service (grpc.health.v1).
// Serves h2c on one port and TLS (the lab certificate, ALPN h2) on another.
// Usage: node --import tsx lab/grpc/server.ts PLAIN_PORT TLS_PORT CERT_PEM KEY_PEM
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import protobuf from 'protobufjs';
import { grpcFacts } from './facts.ts';

const protos = join(dirname(fileURLToPath(import.meta.url)), 'protos');
const [plainPort, tlsPort, certPath, keyPath] = process.argv.slice(2);

const definition = protoLoader.loadSync(['portolan/lab/v1/harbour.proto', 'grpc/health/v1/health.proto'], {
  includeDirs: [protos],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(definition) as any;

type Ship = (typeof grpcFacts.ships)[number];

// google.rpc.Status with its details, encoded by protobufjs from the lab's copies of the googleapis messages.
const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(protos, target));
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
function any(type: string, value: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  const t = rpc.lookupType(type);
  return { type_url: `type.googleapis.com/${type}`, value: t.encode(t.fromObject(value)).finish() };
}
function rejectDetails(): Buffer {
  const r = grpcFacts.reject;
  const status = rpc.lookupType('google.rpc.Status');
  const details = [
    any('google.rpc.BadRequest', { fieldViolations: [r.violation] }),
    any('google.rpc.ErrorInfo', r.errorInfo),
    any('google.rpc.RetryInfo', { retryDelay: r.retryDelay }),
    any('google.rpc.LocalizedMessage', r.localized),
    { type_url: r.unknown.typeUrl, value: Buffer.from(r.unknown.valueHex, 'hex') },
  ];
  return Buffer.from(status.encode(status.fromObject({ code: r.code, message: r.message, details })).finish());
}

function toWire(ship: Ship): Record<string, unknown> {
  return {
    name: ship.name,
    kind: ship.kind,
    crew: ship.crew,
    tonnage: ship.tonnage,
    in_port: ship.inPort,
    ports_of_call: ship.portsOfCall,
    position: ship.position,
    tags: ship.tags,
    flag: Buffer.from(ship.flagBase64, 'base64'),
    launched: { seconds: String(Math.floor(Date.parse(ship.launched) / 1000)), nanos: 0 },
    ...('goods' in ship ? { goods: ship.goods } : { passengers: ship.passengers }),
  };
}

const server = new grpc.Server();
server.addService(loaded.portolan.lab.v1.Harbour.service, {
  GetShip(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const meta = new grpc.Metadata();
    meta.set('x-lab-server', grpcFacts.serverHeader);
    call.sendMetadata(meta);
    const ship = grpcFacts.ships.find((s) => s.name === call.request.name);
    if (!ship) return callback({ code: grpc.status.NOT_FOUND, details: `no ship named ${call.request.name}` });
    callback(null, toWire(ship));
  },
  ListShips(call: grpc.ServerWritableStream<{ kind?: string; limit?: number }, unknown>) {
    const kind = call.request.kind && call.request.kind !== 'SHIP_KIND_UNSPECIFIED' ? call.request.kind : undefined;
    const limit = call.request.limit || Infinity;
    let sent = 0;
    for (const ship of grpcFacts.ships) {
      if (kind && ship.kind !== kind) continue;
      if (sent++ >= limit) break;
      call.write(toWire(ship));
    }
    const trailer = new grpc.Metadata();
    trailer.set('x-lab-count', String(Math.min(sent, limit)));
    call.end(trailer);
  },
  Echo(call: grpc.ServerUnaryCall<Record<string, any>, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, { ...call.request, crew: (call.request.crew ?? 0) + 1 });
  },
  Fail(call: grpc.ServerUnaryCall<{ code: number; message: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const trailer = new grpc.Metadata();
    trailer.set('x-lab-detail', grpcFacts.failDetail);
    trailer.set('x-lab-detail-bin', Buffer.from(grpcFacts.failDetailBinHex, 'hex'));
    callback({ code: call.request.code || grpc.status.UNKNOWN, details: call.request.message, metadata: trailer });
  },
  Manifest(call: grpc.ServerReadableStream<{ item: string; quantity: number }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const items: string[] = [];
    let total = 0;
    call.on('data', (c: { item: string; quantity: number }) => {
      items.push(c.item);
      total += c.quantity ?? 0;
    });
    call.on('end', () => callback(null, { lines: items.length, total_quantity: total, items }));
  },
  Convoy(call: grpc.ServerDuplexStream<{ text: string; repeat: number; pad: number }, unknown>) {
    let seq = 0;
    call.on('data', (s: { text: string; repeat: number; pad: number }) => {
      const filler = Buffer.alloc(Math.min(s.pad ?? 0, 1 << 20), 0x2e);
      for (let i = 0; i < Math.max(1, Math.min(s.repeat ?? 0, 100_000)); i++) call.write({ text: s.text, seq: ++seq, filler });
    });
    call.on('end', () => {
      const trailer = new grpc.Metadata();
      trailer.set('x-lab-count', String(seq));
      call.end(trailer);
    });
  },
  Slow(call: grpc.ServerUnaryCall<{ delay_ms: number }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const timer = setTimeout(() => callback(null, toWire(grpcFacts.ships[0])), Math.min(call.request.delay_ms ?? 0, 60_000));
    call.on('cancelled', () => clearTimeout(timer));
  },
  Reject(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const trailer = new grpc.Metadata();
    trailer.set('grpc-status-details-bin', rejectDetails());
    callback({ code: grpcFacts.reject.code, details: grpcFacts.reject.message, metadata: trailer });
  },
});

const statusOf = (service: string): string | undefined => (grpcFacts.health as Record<string, string>)[service];
server.addService(loaded.grpc.health.v1.Health.service, {
  Check(call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const status = statusOf(call.request.service ?? '');
    if (!status) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
    callback(null, { status });
  },
  Watch(call: grpc.ServerWritableStream<{ service: string }, unknown>) {
    call.write({ status: statusOf(call.request.service ?? '') ?? 'SERVICE_UNKNOWN' });
    // The stream stays open until the client cancels, as the health protocol says.
  },
});

new ReflectionService(definition).addToServer(server);

function bind(port: string, creds: grpc.ServerCredentials): Promise<void> {
  return new Promise((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, creds, (err) => (err ? reject(err) : resolve())));
}

await bind(plainPort, grpc.ServerCredentials.createInsecure());
await bind(tlsPort, grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(certPath), private_key: readFileSync(keyPath) }]));
console.log(`gRPC lab server: h2c on ${plainPort}, TLS on ${tlsPort}`);
