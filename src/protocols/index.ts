// The registry: the one list of every protocol, in the order lists show them. Adding a protocol adds one line here.
// A protocol's module is evaluated when first used (its schemas are most of a Worker's heap, which every garbage
// collection walks: bench/gc.ts), so an isolate holds only the protocols it has served.
import type { Protocol } from '../core/protocol.ts';

const modules: Record<string, () => Promise<{ default: Protocol }>> = {
  ping: () => import('./ping/index.ts'),
  ports: () => import('./ports/index.ts'),
  banner: () => import('./banner/index.ts'),
  identify: () => import('./identify/index.ts'),
  echo: () => import('./echo/index.ts'),
  discard: () => import('./discard/index.ts'),
  chargen: () => import('./chargen/index.ts'),
  qotd: () => import('./qotd/index.ts'),
  daytime: () => import('./daytime/index.ts'),
  time: () => import('./time/index.ts'),
  finger: () => import('./finger/index.ts'),
  ftp: () => import('./ftp/index.ts'),
  gopher: () => import('./gopher/index.ts'),
  dict: () => import('./dict/index.ts'),
  whois: () => import('./whois/index.ts'),
  ldap: () => import('./ldap/index.ts'),
  kerberos: () => import('./kerberos/index.ts'),
  radius: () => import('./radius/index.ts'),
  ident: () => import('./ident/index.ts'),
  dcerpc: () => import('./dcerpc/index.ts'),
  netbios: () => import('./netbios/index.ts'),
  diameter: () => import('./diameter/index.ts'),
  tacacs: () => import('./tacacs/index.ts'),
  graphite: () => import('./graphite/index.ts'),
  postgres: () => import('./postgres/index.ts'),
  mysql: () => import('./mysql/index.ts'),
  redis: () => import('./redis/index.ts'),
  memcached: () => import('./memcached/index.ts'),
  mqtt: () => import('./mqtt/index.ts'),
  amqp: () => import('./amqp/index.ts'),
  stomp: () => import('./stomp/index.ts'),
  activemq: () => import('./activemq/index.ts'),
  rabbitmq: () => import('./rabbitmq/index.ts'),
  smtp: () => import('./smtp/index.ts'),
  lmtp: () => import('./smtp/lmtp.ts'),
  imap: () => import('./imap/index.ts'),
  pop3: () => import('./pop3/index.ts'),
  ssh: () => import('./ssh/index.ts'),
  dns: () => import('./dns/index.ts'),
  ntp: () => import('./ntp/index.ts'),
  snmp: () => import('./snmp/index.ts'),
  tftp: () => import('./tftp/index.ts'),
  http: () => import('./http/index.ts'),
  http2: () => import('./http2/index.ts'),
  grpc: () => import('./grpc/index.ts'),
  websocket: () => import('./websocket/index.ts'),
  rdp: () => import('./rdp/index.ts'),
  vnc: () => import('./vnc/index.ts'),
  x11: () => import('./x11/index.ts'),
  spice: () => import('./spice/index.ts'),
  tls: () => import('./tls/index.ts'),
  telnet: () => import('./telnet/index.ts'),
  rsh: () => import('./rsh/index.ts'),
  rlogin: () => import('./rsh/rlogin.ts'),
  rexec: () => import('./rsh/rexec.ts'),
  statsd: () => import('./statsd/index.ts'),
  sip: () => import('./sip/index.ts'),
  ssdp: () => import('./ssdp/index.ts'),
  rip: () => import('./rip/index.ts'),
  haproxy: () => import('./haproxy/index.ts'),
  varnish: () => import('./varnish/index.ts'),
  fastcgi: () => import('./fastcgi/index.ts'),
  uwsgi: () => import('./uwsgi/index.ts'),
  ajp: () => import('./ajp/index.ts'),
  zookeeper: () => import('./zookeeper/index.ts'),
  git: () => import('./git/index.ts'),
  jsonrpc: () => import('./jsonrpc/index.ts'),
  soap: () => import('./soap/index.ts'),
  etcd: () => import('./etcd/index.ts'),
  svn: () => import('./svn/index.ts'),
  docker: () => import('./docker/index.ts'),
  socks: () => import('./socks/index.ts'),
  httpproxy: () => import('./httpproxy/index.ts'),
  torcontrol: () => import('./torcontrol/index.ts'),
  stun: () => import('./stun/index.ts'),
  shadowsocks: () => import('./shadowsocks/index.ts'),
  bgp: () => import('./bgp/index.ts'),
  ldp: () => import('./ldp/index.ts'),
  pptp: () => import('./pptp/index.ts'),
  l2tp: () => import('./l2tp/index.ts'),
  openflow: () => import('./openflow/index.ts'),
  openvpn: () => import('./openvpn/index.ts'),
  ike: () => import('./ike/index.ts'),
  epmd: () => import('./epmd/index.ts'),
  adb: () => import('./adb/index.ts'),
  cvs: () => import('./cvs/index.ts'),
  jdwp: () => import('./jdwp/index.ts'),
  rmi: () => import('./rmi/index.ts'),
  lsp: () => import('./lsp/index.ts'),
  dap: () => import('./dap/index.ts'),
  rserve: () => import('./rserve/index.ts'),
  thrift: () => import('./thrift/index.ts'),
  cdp: () => import('./cdp/index.ts'),
  jupyter: () => import('./jupyter/index.ts'),
  nats: () => import('./nats/index.ts'),
  beanstalkd: () => import('./beanstalkd/index.ts'),
  gearman: () => import('./gearman/index.ts'),
  zmtp: () => import('./zmtp/index.ts'),
  snpp: () => import('./snpp/index.ts'),
  smpp: () => import('./smpp/index.ts'),
  kafka: () => import('./kafka/index.ts'),
  smb: () => import('./smb/index.ts'),
  managesieve: () => import('./managesieve/index.ts'),
  clamav: () => import('./clamav/index.ts'),
  spamd: () => import('./spamd/index.ts'),
  nntp: () => import('./nntp/index.ts'),
  rsync: () => import('./rsync/index.ts'),
  portmapper: () => import('./portmapper/index.ts'),
  nfs: () => import('./nfs/index.ts'),
  nbd: () => import('./nbd/index.ts'),
  '9p': () => import('./9p/index.ts'),
  iscsi: () => import('./iscsi/index.ts'),
  bittorrent: () => import('./bittorrent/index.ts'),
};

/** Every protocol id, in registry order. */
export const protocolIds: readonly string[] = Object.keys(modules);

const loaded = new Map<string, Promise<Protocol>>();

/** The protocol with this id, evaluated on first use; undefined for an id the registry lacks. */
export function loadProtocol(id: string): Promise<Protocol> | undefined {
  if (!Object.hasOwn(modules, id)) return undefined;
  let p = loaded.get(id);
  if (!p) {
    p = modules[id]!().then(({ default: protocol }) => {
      if (protocol.id !== id) throw new TypeError(`the registry's ${id} loads ${protocol.id}`);
      return protocol;
    });
    loaded.set(id, p);
  }
  return p;
}

/** Every protocol, in registry order. */
export function loadProtocols(): Promise<readonly Protocol[]> {
  return Promise.all(protocolIds.map((id) => loadProtocol(id)!));
}

/** The registry as the API serves it: ids without evaluating anything, one protocol, or all of them. */
export interface ProtocolRegistry {
  readonly ids: readonly string[];
  load(id: string): Promise<Protocol> | undefined;
  all(): Promise<readonly Protocol[]>;
}

export const registry: ProtocolRegistry = { ids: protocolIds, load: loadProtocol, all: loadProtocols };
