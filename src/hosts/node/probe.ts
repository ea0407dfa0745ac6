// The Node host's capability probe at start: what this machine lets the process do, tested, not assumed.
//
// How it works: each check tries the real thing on loopback and reports what it saw. UDP: a datagram
// socket sends one datagram to itself on 127.0.0.1 (nothing leaves the machine). Privileged source
// ports: a TCP socket binds a port below 1024 on 127.0.0.1 (root or CAP_NET_BIND_SERVICE passes).
// ICMP echo: the kernel's ping_group_range (Linux, net.ipv4.ping_group_range) says whether this
// process's groups may open unprivileged ICMP sockets; Node itself has no ICMP socket API either way.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { RUNTIME_CAPABILITIES } from '../../core/capabilities.ts';
import type { Capability } from '../../core/conn.ts';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export interface RuntimeProbe {
  udp: ProbeResult;
  privilegedSourcePorts: ProbeResult & { uid: number | null };
  icmpEcho: ProbeResult & { kernelAllows: boolean; pingGroupRange: string | null };
}

const PROBE_MS = 1000;

export async function probeUdp(): Promise<ProbeResult> {
  let socket: dgram.Socket | undefined;
  try {
    socket = dgram.createSocket('udp4');
    const s = socket;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve());
    });
    const { port } = s.address();
    const marker = Buffer.from('portolan-udp-probe');
    const got = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), PROBE_MS);
      s.on('message', (msg) => {
        if (msg.equals(marker)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await new Promise<void>((resolve, reject) => s.send(marker, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    return (await got)
      ? { ok: true, detail: 'datagram sockets work (a loopback self-test datagram came back; nothing left the machine)' }
      : { ok: false, detail: `a datagram sent to 127.0.0.1:${port} did not come back within ${PROBE_MS} ms` };
  } catch (e) {
    return { ok: false, detail: `cannot use datagram sockets: ${(e as Error).message}` };
  } finally {
    try {
      socket?.close();
    } catch {
      // never bound
    }
  }
}

/** Binds a TCP port below 1024 on loopback, trying a few in case some are taken. */
export async function probePrivilegedPorts(): Promise<ProbeResult & { uid: number | null }> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  for (const port of [1023, 1022, 1021, 1020, 1019, 1018, 1017, 1016]) {
    const outcome = await new Promise<'ok' | 'inuse' | string>((resolve) => {
      const srv = net.createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? 'inuse' : `${e.code ?? ''} ${e.message}`.trim()));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve('ok')));
    });
    if (outcome === 'ok') return { ok: true, uid, detail: `bound 127.0.0.1:${port} (uid ${uid ?? '?'}): the rsh family can use privileged source ports` };
    if (outcome !== 'inuse') return { ok: false, uid, detail: `cannot bind a port below 1024 (uid ${uid ?? '?'}): ${outcome}; run as root or grant CAP_NET_BIND_SERVICE` };
  }
  return { ok: false, uid, detail: 'ports 1016–1023 on 127.0.0.1 are all taken, so privileged binding could not be tested' };
}

export function probeIcmpEcho(rangeFile = '/proc/sys/net/ipv4/ping_group_range'): ProbeResult & { kernelAllows: boolean; pingGroupRange: string | null } {
  let range: string | null = null;
  try {
    range = readFileSync(rangeFile, 'utf8').trim();
  } catch {
    // not Linux, or /proc not mounted
  }
  const nodeLacks = 'Node.js has no ICMP socket API (node:dgram opens only UDP sockets), so the Node host pings over TCP (the ping protocol)';
  if (range === null) return { ok: false, kernelAllows: false, pingGroupRange: null, detail: `${rangeFile} is not readable; ${nodeLacks}` };
  const [lo, hi] = range.split(/\s+/).map(Number);
  const groups = new Set<number>([...(process.getgroups?.() ?? []), process.getgid?.() ?? -1]);
  const kernelAllows = [...groups].some((g) => g >= lo && g <= hi);
  const kernel = kernelAllows
    ? `the kernel allows unprivileged ICMP echo sockets for this process's groups (ping_group_range ${range})`
    : `the kernel does not allow unprivileged ICMP echo sockets for this process's groups (ping_group_range ${range}${lo > hi ? ': disabled' : ''})`;
  return { ok: false, kernelAllows, pingGroupRange: range, detail: `${kernel}; ${nodeLacks}` };
}

export async function probeRuntime(): Promise<RuntimeProbe> {
  const [udp, privilegedSourcePorts] = await Promise.all([probeUdp(), probePrivilegedPorts()]);
  return { udp, privilegedSourcePorts, icmpEcho: probeIcmpEcho() };
}

/** The Node host's capabilities, less what the probe found missing. */
export function capabilitiesFrom(probe: RuntimeProbe): Capability[] {
  return RUNTIME_CAPABILITIES.node.filter((c) => (c === 'udp' ? probe.udp.ok : c === 'privilegedPort' ? probe.privilegedSourcePorts.ok : true));
}
