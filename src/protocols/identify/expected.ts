// What every TCP port of the lab speaks, as identify must name it (lab/ports.json by area and key). Several
// names where the server truly speaks several (pygopherd answers gopher and HTTP; coturn STUN plain and in TLS;
// RabbitMQ's cowboy listeners HTTP/1.1 and h2c);
// null where no client-first probe can name it without a secret (the answer is then 'unknown').
export const LAB_SERVICES: Readonly<Record<string, Readonly<Record<string, readonly string[] | null>>>> = {
  // The foundation's hostile servers (silent, garbage, tarpits, bombs) are fixtures, not services: not in the table.
  foundation: {
    echo: ['echo'], discard: null, daytime: ['daytime'], qotd: ['qotd'], chargen: ['chargen'], time: ['time'], gopher: ['gopher', 'http'], finger: ['finger'], dict: ['dict'],
    carbonPlaintext: null, carbonPickle: null, carbonCacheQuery: ['graphite'],
  },
  ssh: { sshd: ['ssh'], sshdRekey: ['ssh'], sshdCert: ['ssh'] },
  'databases-sql': { postgres: ['postgres'], postgresPlain: ['postgres'], mariadb: ['mysql'], mariadbPlain: ['mysql'] },
  'databases-kv': {
    redis: ['redis'], redisTls: ['redis'], sentinel: ['redis'], memcached: ['memcached'], memcachedSasl: ['memcached'], memcachedTls: ['memcached'],
    // The cluster's ports (the databases-cluster block): its nodes, their cluster bus (node-to-node, no client probe), memcached with ASCII auth.
    redisClusterA: ['redis'], redisClusterB: ['redis'], redisClusterC: ['redis'], redisClusterEdge: ['redis'],
    redisClusterBusA: null, redisClusterBusB: null, redisClusterBusC: null, redisClusterBusEdge: null, memcachedAsciiAuth: ['memcached'],
  },
  dns: { bind: ['dns'], unbound: ['dns'], unboundDot: ['dns'], doh: ['http2', 'http'] },
  ftp: { ftp: ['ftp'], ftpsImplicit: ['ftp'], ftpNatPasv: ['ftp'], ftpProftpd: ['ftp'] },
  mail: { smtp: ['smtp'], lmtp: ['lmtp'], submission: ['smtp'], smtps: ['smtp'], imap: ['imap'], imaps: ['imap'], pop3: ['pop3'], pop3s: ['pop3'], managesieve: ['managesieve'] },
  edge: {
    socks: ['socks'], socksAuth: ['socks'], squid: ['httpproxy'], squidAuth: ['httpproxy'], tinyproxy: ['httpproxy'], shadowsocksChacha: null, shadowsocksAes: null, pptp: ['pptp'],
    openvpn: ['openvpn'], openvpnTlsAuth: null, openvpnTlsCrypt: null, torControl: ['torcontrol'], stun: ['stun'], stunTls: ['stun'],
  },
  // LDP takes a TCP session only from a peer it has a Hello adjacency with (over UDP): a stranger is closed on.
  'edge-routing': { bgp: ['bgp'], openflow: ['openflow'], openflow10: ['openflow'], ldpRelay: null },
  desktop: { vnc: ['vnc'], x11vnc: ['vnc'], vncSecure: ['vnc'], vncBench: ['vnc'], x11: ['x11'], x11Cookie: ['x11'], spice: ['spice'], spiceTicket: ['spice'], spiceTls: ['spice'] },
  http: {
    nginx: ['http'], nginxH2c: ['http2'], nginxTls: ['http', 'http2'], echoBackend: ['http'], nginxH2cLimited: ['http2'], apacheH2c: ['http2'], grpc: ['grpc'], grpcTls: ['grpc'],
    xrdp: ['rdp'], xrdpTlsOnly: ['rdp'], xrdpRdpOnly: ['rdp'], wsDeflate: ['http'], wsDeflateFixed: ['http'], grpcRaw: ['grpc'],
  },
  'messaging-nats': { nats: ['nats'], natsTls: ['nats'], natsToken: ['nats'] },
  'messaging-queues': { beanstalkd: ['beanstalkd'], gearman: ['gearman'], zmqRep: ['zmtp'], zmqPlain: ['zmtp'], snpp: ['snpp'], smsc: ['smpp'], kannelAdmin: ['http'], kannelFakeSmsc: null, kannelSmsbox: null },
  // mosquitto's WebSockets listener over TLS is libwebsockets, which takes h2 when ALPN offers it.
  'messaging-mqtt': { mosquitto: ['mqtt'], mosquittoTls: ['mqtt'], mosquittoWs: ['http'], mosquittoWss: ['http', 'http2'] },
  'messaging-rabbitmq': { amqp: ['amqp'], amqps: ['amqp'], mqtt: ['mqtt'], stomp: ['stomp'], management: ['http', 'http2'], webMqtt: ['http', 'http2'], epmd: ['epmd'], dist: null, stompTls: ['stomp'], webStomp: ['http', 'http2'] },
  'messaging-activemq': { openwire: ['activemq'], stomp: ['stomp'] },
  node: {
    telnet: ['telnet'], telnetLinemode: ['telnet'], telnets: ['telnet'], telnetAuthSsl: ['telnet'], rsh: null, rlogin: null, rexec: null, snmp: ['snmp'], sip: ['sip'], tlsLegacy: ['http'],
  },
  'http-five': { nginxCoded: ['http'], http10: ['http'], nginxCodedTls: ['http'] },
  'http2-five': { apachePush: ['http2', 'http'] },
  // The TLS engine's servers: s_server -rev, gnutls-serv --echo and the tampering relays speak no protocol with a
  // name inside TLS; s_server -www serves HTTP inside, behind certificates of the engine's own CAs (most made to be
  // refused), which the runtime's TLS will not open on Workers: TLS is what can be named there.
  'tls-engine': {
    opensslRsa: ['tls'], opensslP256: ['tls'], opensslP384: ['tls'], opensslEd25519: ['tls'], opensslClientAuth: ['tls'], opensslRenegotiate: ['http', 'tls'], opensslSelfSignedWww: ['http', 'tls'],
    gnutlsRsa: ['tls'], gnutlsP256: ['tls'], gnutlsP384: ['tls'], gnutlsEd25519: ['tls'], gnutlsClientAuth: ['tls'],
    expired: ['http', 'tls'], notYetValid: ['http', 'tls'], wrongHost: ['http', 'tls'], selfSigned: ['http', 'tls'], unknownRoot: ['http', 'tls'], incompleteChain: ['http', 'tls'],
    caWithoutBasicConstraints: ['http', 'tls'], leafAsCa: ['http', 'tls'], nameConstraints: ['http', 'tls'], sha1: ['http', 'tls'], rsa1024: ['http', 'tls'],
    tamperSuite: ['tls'], tamperGroup: ['tls'], tamperDowngrade: ['tls'], tamperOversized: ['tls'], tamperUpstream: ['tls'],
  },
  blocks: { nbd: ['nbd'], nbdTls: ['nbd'], nbdkit: ['nbd'], ninep: ['9p'], iscsi: null, bittorrent: null, transmissionRpc: ['http'], tracker: ['http'] },
  shares: { smb: ['smb'], clamd: ['clamav'], spamd: ['spamd'], spamdTls: ['spamd'] },
  // Ganesha's MOUNT port answers PROG_UNAVAIL to the NULL calls of NFS and the portmapper: an RPC server, no more.
  nfs: { nfs: ['nfs'], mount: ['rpc'] },
  // Samba's NetBIOS session port carries SMB too; its endpoint mapper and first dynamic RPC port speak DCE/RPC.
  'directory-samba': { smb: ['smb'], netbiosSession: ['smb'], epmapper: ['dcerpc'], rpcDynamicMin: ['dcerpc'] },
  news: { nntp: ['nntp'], nntps: ['nntp'], innd: ['nntp'], rsync: ['rsync'], portmapper: ['portmapper'] },
  // RADIUS authentication and accounting are UDP; Kerberos, RADIUS over TCP and Diameter are not probed (a login, a secret, a peer session).
  directory: { ldap: ['ldap'], ldaps: ['ldap'], kerberos: null, radiusTcp: null, radsec: ['tls'], ident: ['ident'], diameter: null, diameterTls: ['tls'] },
  'services-a': {
    // The frontend holds every stream until 64 KiB or a minute have come (so its sessions can be listed): it says nothing.
    haproxy: ['haproxy'], haproxyFrontend: null, haproxyUser: ['haproxy'], haproxyTls: ['haproxy'], varnishCli: ['varnish'], varnishHttp: ['http'], phpFpm: ['fastcgi'], fcgiwrap: ['fastcgi'],
    uwsgi: null, aria2: ['http'], soap: ['http'], git: ['git'], svn: ['svn'],     // Podman's Docker API answers / with a bare 404 (no Server or Api-Version header): HTTP is what it shows.
    docker: ['docker', 'http'], dockerTls: ['docker', 'http', 'tls'], dockerBasic: ['docker', 'http', 'http2'],
    // etcd serves its v3 API as gRPC and HTTP/1.1 on one port: the gRPC health check answers.
    etcd: ['grpc', 'http', 'http2'], etcdPeer: ['grpc', 'http', 'http2'], etcdAuth: ['grpc', 'http', 'http2'], etcdAuthPeer: ['grpc', 'http', 'http2'], etcdTls: ['grpc', 'http', 'http2', 'tls'],
  },
  'services-jvm': { zookeeper: ['zookeeper'], tomcatAjp: ['ajp'], tomcatAjpSecret: ['ajp'] },
  'services-b': {
    // The pserver (under inetd) hangs up on anything but a login, silently: only a login would name it.
    cvs: null, jdwp: ['jdwp'], chromium: ['http'], nodeInspector: ['http'], adb: ['adb'], dap: null, lsp: null, jupyter: ['http'], jupyterTls: ['http', 'tls'],
    thriftBinary: null, thriftCompact: null, rmiObject: ['rmi'], rmiRegistry: ['rmi'], rserve: ['rserve'], rserveCrypt: ['rserve'], epmd: ['epmd'], erlangNode: null,
  },
};

/** nmap's service names (nmap-services, nmap-service-probes) for the registry ids above. */
export const NMAP_NAMES: Readonly<Record<string, string>> = {
  domain: 'dns', postgresql: 'postgres', 'http-proxy': 'httpproxy', socks5: 'socks', socks4: 'socks', 'tor-control': 'torcontrol', tor: 'torcontrol', x11: 'x11', 'vnc-http': 'vnc',
  'ssl/http': 'http', https: 'http', 'ssl/https': 'http', imaps: 'imap', pop3s: 'pop3', smtps: 'smtp', submission: 'smtp', ftps: 'ftp', 'ssl/ftp': 'ftp', sieve: 'managesieve',
  'redis-sentinel': 'redis', 'ms-wbt-server': 'rdp', openflow: 'openflow', 'stun': 'stun', 'stuns': 'stun', 'turn': 'stun', mqtt: 'mqtt', amqp: 'amqp', beanstalkd: 'beanstalkd', gearman: 'gearman',
  nats: 'nats', zeromq: 'zmtp', zmtp: 'zmtp', epmd: 'epmd', 'erlang-epmd': 'epmd', stomp: 'stomp', activemq: 'activemq', 'apachemq': 'activemq', 'carbon': 'graphite', 'graphite': 'graphite', 'http2': 'http2', grpc: 'grpc',
};

/** The registry id an nmap name stands for (`ssl/imap` → imap), or the name itself. */
export function fromNmap(name: string): string {
  if (name === 'unknown') return name;
  return NMAP_NAMES[name] ?? NMAP_NAMES[name.replace(/^ssl\//, '')] ?? name.replace(/^ssl\//, '');
}

/** Named as the table says: one of the expected names, or 'unknown' where none can be named. */
export const namedCorrectly = (expected: readonly string[] | null, service: string | undefined): boolean =>
  expected === null ? !service || service === 'unknown' : !!service && expected.includes(service);

/**
 * Ports a scan must leave alone: Kannel's chain for the SMPP lab tests (bearerbox's SMPP and smsbox ports and
 * drive_smpp, the fake SMSC, which accepts one connection in its life) breaks when a stranger connects; and
 * Transmission's peer port, which for about a second refuses a second connection from an address it holds one from.
 */
const NOT_SCANNED: ReadonlySet<string> = new Set(['messaging-queues.smsc', 'messaging-queues.kannelFakeSmsc', 'messaging-queues.kannelSmsbox', 'blocks.bittorrent']);

/** The lab's TCP ports with what they must be named, for the areas given (all when none). */
export function labTable(portsByBlock: Readonly<Record<string, Readonly<Record<string, number>>>>, areas: readonly string[] = []) {
  // The SQL databases' ports are in the `databases` block, Telnet with TLS (run by the node area) in `sshftp`, the
  // Redis cluster's (run by the databases-kv area) in `databases-cluster`.
  const block = (area: string, key: string) =>
    area === 'databases-sql' ? 'databases' : area === 'node' && key in portsByBlock.sshftp ? 'sshftp' : area === 'databases-kv' && key in portsByBlock['databases-cluster'] ? 'databases-cluster' : area;
  return Object.entries(LAB_SERVICES)
    .filter(([area]) => areas.length === 0 || areas.includes(area))
    .flatMap(([area, keys]) => Object.entries(keys).filter(([key]) => !NOT_SCANNED.has(`${area}.${key}`)).map(([key, expected]) => ({ area, key, port: portsByBlock[block(area, key)][key], expected })));
}
