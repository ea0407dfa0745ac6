// Lab servers of the services-a area (issue 20, the service plane): HAProxy's runtime API on TCP stats
// sockets, varnishd's CLI, php-fpm and fcgiwrap (FastCGI), uWSGI, aria2's JSON-RPC, a spyne SOAP service,
// git daemon, svnserve, etcd and Podman's Docker-compatible API.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ports } from '../ports.ts';
import { exchange, expectIncludes, isListening } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports['services-a'];

/** What the services-a servers are configured with: tests assert against these. */
export const servicesFacts = {
  haproxy: {
    frontend: 'web',
    backend: 'app',
    /** Servers of the backend and their configured weights. */
    servers: { s1: 10, s2: 20 },
  },
  varnish: {
    /** The -S secret file's contents. */
    secret: 'portolan-varnish-secret\n',
    /** Backends of the boot VCL, as backend.list names them. */
    backends: ['boot.default', 'boot.spare'],
  },
  aria2: {
    /** --rpc-secret: calls pass it as their first parameter, "token:<secret>". */
    secret: 'portolan-aria2-secret',
  },
  docker: {
    /** The image the lab imports (a busybox root file system) and its containers. */
    image: 'localhost/portolan-busybox:lab',
    running: 'portolan-lab',
    stopped: 'portolan-stopped',
    /** What the running container printed at start, on stdout and on stderr. */
    stdout: ['portolan stdout one', 'portolan stdout two'],
    stderr: ['portolan stderr one'],
    /** HTTP Basic credentials of the authenticating proxy (dockerBasic). */
    user: 'docker-user',
    password: 'docker-pass',
  },
  etcd: {
    /** The instance on etcdAuth has auth enabled: root with this password, and a user limited to /portolan/app/. */
    rootPassword: 'portolan-root-pass',
    user: 'app',
    userPassword: 'app-pass-42',
    userPrefix: '/portolan/app/',
  },
  svn: {
    /** The repository's path in svn:// URLs. */
    repo: '/portolan',
    /** CRAM-MD5 user (password-db) with read and write everywhere. */
    user: 'alice',
    password: 'svn-secret',
    realm: 'Portolan Lab',
    /** A directory anonymous users may not read (authz). */
    privatePath: 'private',
    /** Commit messages, in order (revisions 1, 2, 3). */
    messages: ['Import the lab tree', 'Change the README', 'Add a private note'],
  },
  git: {
    /** The repository git daemon serves (under its base path). */
    repo: '/portolan.git',
    /** The bare repository on disk, for tests that ask git itself. */
    dir: 'git/repos/portolan.git',
    /** big.txt: this many lines, one changed per commit (so the pack holds deltas). */
    bigLines: 3000,
    commits: [
      { message: 'First commit: the lab repository', author: 'Ada Lovelace <ada@portolan.test>', date: '2024-01-01T10:00:00+01:00' },
      { message: 'Second commit\n\nWith a body that spans\ntwo lines.', author: 'Grace Hopper <grace@portolan.test>', date: '2024-02-02T11:00:00-05:00' },
      { message: 'Third commit: ünïcode in the message', author: 'Alan Turing <alan@portolan.test>', date: '2024-03-03T12:00:00+00:00' },
    ],
    /** Annotated tag on the second commit, lightweight tag on the first; branch feature at the first. */
    annotatedTag: 'v1.0',
    lightTag: 'v0.1',
    branch: 'feature',
  },
};

/** Connects with TLS (trusting the lab CA), writes `send`, resolves with what came back until `until` or the close. */
export function tlsExchange(port: number, send: string, until: (b: Buffer) => boolean, caPath: string, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(caPath) }, () => s.write(send));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`127.0.0.1:${port} (TLS): no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (until(Buffer.concat(chunks))) done();
    });
    s.on('end', done);
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`127.0.0.1:${port} (TLS): ${e.message}`));
    });
  });
}

/** The lab certificate and key in one PEM file (what HAProxy's `crt` takes). */
function combinedPem(ctx: LabContext): string {
  return ctx.writeFile('server-combined.pem', readFileSync(ctx.tls.certPath, 'utf8') + readFileSync(ctx.tls.keyPath, 'utf8'));
}

const haproxy: LabServer = {
  name: 'haproxy',
  area: 'services-a',
  packages: ['haproxy'],
  ports: [p.haproxy, p.haproxyFrontend, p.haproxyUser, p.haproxyTls, p.dockerTls, p.dockerBasic],
  async start(ctx) {
    const f = servicesFacts.haproxy;
    const conf = ctx.writeFile(
      'haproxy.cfg',
      [
        'global',
        `  stats socket ipv4@127.0.0.1:${p.haproxy} level admin`,
        `  stats socket ipv4@127.0.0.1:${p.haproxyUser} level user`,
        '  maxconn 200',
        'defaults',
        '  mode tcp',
        '  timeout connect 1s',
        '  timeout client 60s',
        '  timeout server 60s',
        `frontend ${f.frontend}`,
        `  bind 127.0.0.1:${p.haproxyFrontend}`,
        // A client's stream waits here (for 64 KiB or a minute) before reaching a server: show sess can see it.
        '  tcp-request inspect-delay 60s',
        '  tcp-request content accept if { req.len ge 65536 }',
        `  default_backend ${f.backend}`,
        `backend ${f.backend}`,
        '  balance roundrobin',
        // No health checks: each server stays UP until the runtime API puts it in maintenance.
        ...Object.entries(f.servers).map(([name, weight]) => `  server ${name} 127.0.0.1:${p.varnishHttp} weight ${weight}`),
        // The runtime API has no TLS of its own: HAProxy itself terminates TLS in front of the admin socket.
        'frontend cli-tls',
        '  mode tcp',
        `  bind 127.0.0.1:${p.haproxyTls} ssl crt ${combinedPem(ctx)}`,
        '  default_backend cli',
        'backend cli',
        '  mode tcp',
        `  server admin 127.0.0.1:${p.haproxy}`,
        // In front of Podman's Docker API: TLS that requires a client certificate from the lab CA (dockerd --tlsverify's
        // contract), and HTTP Basic authentication (an authenticating proxy's 401).
        'frontend docker-tls',
        '  mode tcp',
        `  bind 127.0.0.1:${p.dockerTls} ssl crt ${combinedPem(ctx)} ca-file ${ctx.tls.caPath} verify required`,
        '  default_backend docker',
        'backend docker',
        '  mode tcp',
        `  server podman 127.0.0.1:${p.docker}`,
        'userlist docker-users',
        `  user ${servicesFacts.docker.user} insecure-password ${servicesFacts.docker.password}`,
        'frontend docker-basic',
        '  mode http',
        `  bind 127.0.0.1:${p.dockerBasic}`,
        '  http-request auth realm docker unless { http_auth(docker-users) }',
        '  default_backend docker-http',
        'backend docker-http',
        '  mode http',
        `  server podman 127.0.0.1:${p.docker}`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/haproxy', args: ['-db', '-f', conf] });
  },
  async health(ctx) {
    expectIncludes('haproxy runtime API', await exchange(p.haproxy, { send: 'show info\n' }), 'Name: HAProxy');
    expectIncludes('haproxy runtime API (user level)', await exchange(p.haproxyUser, { send: 'show info\n' }), 'Name: HAProxy');
    expectIncludes('haproxy runtime API (TLS)', await tlsExchange(p.haproxyTls, 'show info\n', () => false, ctx.tls.caPath), 'Name: HAProxy');
  },
};

const varnish: LabServer = {
  name: 'varnish',
  area: 'services-a',
  packages: ['varnish'],
  ports: [p.varnishCli, p.varnishHttp],
  async start(ctx) {
    const secret = ctx.writeFile('secret', servicesFacts.varnish.secret);
    const vcl = ctx.writeFile(
      'default.vcl',
      [
        'vcl 4.1;',
        `backend default { .host = "127.0.0.1"; .port = "${p.soap}"; }`,
        `backend spare { .host = "127.0.0.1"; .port = "${p.aria2}"; }`,
        'sub vcl_recv { if (req.url ~ "^/spare") { set req.backend_hint = spare; } }',
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({
      command: '/usr/sbin/varnishd',
      args: ['-F', '-a', `127.0.0.1:${p.varnishHttp}`, '-T', `127.0.0.1:${p.varnishCli}`, '-S', secret, '-f', vcl, '-n', `${ctx.dir}/work`, '-s', 'malloc,16m'],
    });
  },
  async health() {
    // The greeting: 107 and a 32-letter challenge.
    expectIncludes('varnishd CLI', await exchange(p.varnishCli, { until: (b) => b.includes('Authentication required.') }), '107 59');
  },
};

/** php-fpm's script: its parameters and body back as JSON; ?stderr= logs, ?status= sets the status, ?big=N sends N bytes. */
const ECHO_PHP = `<?php
if (isset($_GET['big'])) { header('Content-Type: text/plain'); echo str_repeat('x', (int)$_GET['big']); exit; }
if (isset($_GET['stderr'])) error_log($_GET['stderr']);
if (isset($_GET['status'])) http_response_code((int)$_GET['status']);
$params = [];
foreach ($_SERVER as $k => $v) if (is_string($v)) $params[$k] = $v;
header('Content-Type: application/json');
header('X-Portolan: php-echo');
echo json_encode(['params' => $params, 'body' => file_get_contents('php://input'), 'sapi' => PHP_SAPI]);
`;

const phpFpm: LabServer = {
  name: 'php-fpm',
  area: 'services-a',
  packages: ['php8.2-fpm'],
  ports: [p.phpFpm],
  async start(ctx) {
    ctx.writeFile('www/echo.php', ECHO_PHP);
    const conf = ctx.writeFile(
      'php-fpm.conf',
      [
        '[global]',
        `pid = ${ctx.dir}/php-fpm.pid`,
        'error_log = /proc/self/fd/2',
        'daemonize = no',
        '[lab]',
        `listen = 127.0.0.1:${p.phpFpm}`,
        'user = www-data',
        'group = www-data',
        'pm = static',
        'pm.max_children = 2',
        'catch_workers_output = no',
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/php-fpm8.2', args: ['-F', '-n', '-y', conf] });
  },
  async health() {
    // FCGI_GET_VALUES (type 9, request 0) with an empty body: php-fpm answers GET_VALUES_RESULT (type 10).
    const got = await exchange(p.phpFpm, { send: Buffer.from([1, 9, 0, 0, 0, 0, 0, 0]), until: (b) => b.length >= 8 });
    if (got[0] !== 1 || got[1] !== 10) throw new Error(`php-fpm: expected a GET_VALUES_RESULT record, got ${got.subarray(0, 8).toString('hex')}`);
  },
};

/** fcgiwrap's CGI script: its variables and body as text, a line on standard error, exit status from ?exit=. */
const ECHO_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\nX-Portolan: cgi-echo\\r\\n\\r\\n'
echo "REQUEST_METHOD=$REQUEST_METHOD"
echo "QUERY_STRING=$QUERY_STRING"
echo "HTTP_X_TEST=$HTTP_X_TEST"
echo "CONTENT_LENGTH=$CONTENT_LENGTH"
if [ -n "$CONTENT_LENGTH" ]; then printf 'BODY='; head -c "$CONTENT_LENGTH"; echo; fi
echo "cgi says hello on stderr" >&2
`;

const fcgiwrap: LabServer = {
  name: 'fcgiwrap',
  area: 'services-a',
  packages: ['fcgiwrap'],
  ports: [p.fcgiwrap],
  async start(ctx) {
    ctx.writeFile('cgi/echo.sh', ECHO_CGI, 0o755);
    await ctx.spawnDaemon({ command: '/usr/sbin/fcgiwrap', args: ['-f', '-c', '2', '-s', `tcp:127.0.0.1:${p.fcgiwrap}`] });
  },
  async health() {
    if (!(await isListening(p.fcgiwrap))) throw new Error(`fcgiwrap: nothing listens on ${p.fcgiwrap}`);
  },
};

/** uWSGI's WSGI application: its environ and body back as JSON, status 201 for POST; ?big=N sends N bytes. */
const WSGI_APP = `import json

def application(environ, start_response):
    length = int(environ.get('CONTENT_LENGTH') or 0)
    body = environ['wsgi.input'].read(length) if length else b''
    query = environ.get('QUERY_STRING', '')
    if query.startswith('big='):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'y' * int(query[4:])]
    env = {k: v for k, v in environ.items() if isinstance(v, str)}
    out = json.dumps({'environ': env, 'body': body.decode('utf-8'), 'scheme': environ['wsgi.url_scheme']}).encode('utf-8')
    status = '201 Created' if environ['REQUEST_METHOD'] == 'POST' else '200 OK'
    start_response(status, [('Content-Type', 'application/json'), ('X-Portolan', 'wsgi-echo')])
    return [out]
`;

const uwsgi: LabServer = {
  name: 'uwsgi',
  area: 'services-a',
  packages: ['uwsgi-core', 'uwsgi-plugin-python3'],
  ports: [p.uwsgi],
  async start(ctx) {
    const app = ctx.writeFile('app.py', WSGI_APP);
    await ctx.spawnDaemon({
      command: '/usr/bin/uwsgi-core',
      args: ['--plugins-dir', '/usr/lib/uwsgi/plugins', '--plugin', 'python3', '--uwsgi-socket', `127.0.0.1:${p.uwsgi}`, '--wsgi-file', app, '--master', '--processes', '1', '--die-on-term', '--uid', 'nobody', '--gid', 'nogroup'],
    });
  },
  async health() {
    // A uwsgi packet (modifier1 0) with REQUEST_METHOD and PATH_INFO: the app answers HTTP.
    const vars = [['REQUEST_METHOD', 'GET'], ['PATH_INFO', '/'], ['QUERY_STRING', ''], ['SERVER_NAME', 'lab'], ['SERVER_PORT', '80'], ['SERVER_PROTOCOL', 'HTTP/1.1']].flatMap(([k, v]) => {
      const kb = Buffer.from(k);
      const vb = Buffer.from(v);
      const kl = Buffer.alloc(2);
      kl.writeUInt16LE(kb.length);
      const vl = Buffer.alloc(2);
      vl.writeUInt16LE(vb.length);
      return [kl, kb, vl, vb];
    });
    const data = Buffer.concat(vars);
    const head = Buffer.from([0, data.length & 0xff, data.length >> 8, 0]);
    expectIncludes('uwsgi', await exchange(p.uwsgi, { send: Buffer.concat([head, data]) }), 'wsgi-echo');
  },
};

/** Makes the lab repository: three commits with fixed authors and dates, a branch, two tags, repacked with deltas. */
async function makeRepo(ctx: LabContext): Promise<string> {
  const g = servicesFacts.git;
  const work = `${ctx.dir}/work`;
  const bare = `${ctx.labDir}/${g.dir}`;
  await ctx.exec('rm', ['-rf', work, `${ctx.dir}/repos`]);
  await ctx.exec('git', ['init', '-q', '-b', 'main', work]);
  const git = (args: string[], date?: string, author?: string) => {
    const [name, email] = (author ?? 'Lab <lab@portolan.test>').replace('>', '').split(' <');
    const env = [`GIT_AUTHOR_NAME=${name}`, `GIT_AUTHOR_EMAIL=${email}`, `GIT_COMMITTER_NAME=${name}`, `GIT_COMMITTER_EMAIL=${email}`, ...(date ? [`GIT_AUTHOR_DATE=${date}`, `GIT_COMMITTER_DATE=${date}`] : [])];
    return ctx.exec('env', [...env, 'git', '-C', work, '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args]);
  };
  const lines = Array.from({ length: g.bigLines }, (_, i) => `line ${i + 1} of the Portolan lab file, long enough to be worth a delta`);
  for (const [i, c] of g.commits.entries()) {
    lines[i * 1000] = `line ${i * 1000 + 1} changed by commit ${i + 1}`;
    ctx.writeFile('work/big.txt', `${lines.join('\n')}\n`);
    ctx.writeFile('work/README', `Portolan lab repository, revision ${i + 1}\n`);
    ctx.writeFile('work/src/hello.txt', `hello from commit ${i + 1}\n`);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', c.message], c.date, c.author);
    if (i === 0) {
      await git(['tag', g.lightTag]);
      await git(['branch', g.branch]);
    }
    if (i === 1) await git(['tag', '-a', g.annotatedTag, '-m', 'Release 1.0'], c.date, c.author);
  }
  await ctx.exec('git', ['clone', '-q', '--bare', work, bare]);
  // One pack with deltas (the older versions of big.txt become deltas of the newest).
  await ctx.exec('git', ['-C', bare, 'repack', '-q', '-a', '-d', '-f', '--depth=50', '--window=50']);
  await ctx.exec('git', ['-C', bare, 'config', 'uploadpack.allowReachableSHA1InWant', 'true']);
  return `${ctx.dir}/repos`;
}

const gitDaemon: LabServer = {
  name: 'git',
  area: 'services-a',
  packages: ['git'],
  ports: [p.git],
  async start(ctx) {
    const base = await makeRepo(ctx);
    await ctx.spawnDaemon({ command: '/usr/bin/git', args: ['daemon', '--reuseaddr', '--listen=127.0.0.1', `--port=${p.git}`, `--base-path=${base}`, '--export-all', '--informative-errors', base] });
  },
  async health() {
    const line = `git-upload-pack ${servicesFacts.git.repo}\0host=localhost\0`;
    const pkt = `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    expectIncludes('git daemon', await exchange(p.git, { send: pkt, until: (b) => b.includes('0000') }), 'refs/heads/main');
  },
};

const aria2: LabServer = {
  name: 'aria2',
  area: 'services-a',
  packages: ['aria2'],
  ports: [p.aria2],
  async start(ctx) {
    ctx.writeFile('downloads/.keep', '');
    await ctx.spawnDaemon({
      command: '/usr/bin/aria2c',
      args: ['--no-conf', '--enable-rpc', '--rpc-listen-all=false', `--rpc-listen-port=${p.aria2}`, `--rpc-secret=${servicesFacts.aria2.secret}`, `--dir=${ctx.dir}/downloads`, '--disable-ipv6', '--console-log-level=warn', '--summary-interval=0'],
    });
  },
  async health() {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'system.listMethods' });
    const req = `POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    expectIncludes('aria2 RPC', await exchange(p.aria2, { send: req }), 'aria2.getVersion');
  },
};

const soap: LabServer = {
  name: 'soap',
  area: 'services-a',
  packages: ['python3-spyne', 'python3-lxml'],
  ports: [p.soap],
  async start(ctx) {
    // Debian's python3 (where python3-spyne is), whatever python3 comes first on PATH.
    await ctx.spawnDaemon({ command: '/usr/bin/python3', args: [`${ctx.repoRoot}/lab/services/soap-server.py`, String(p.soap)] });
  },
  async health() {
    expectIncludes('spyne SOAP', await exchange(p.soap, { send: 'GET /soap11?wsdl HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' }), 'wsdl:definitions');
  },
};

function etcdArgs(ctx: LabContext, name: string, client: number, peer: number, tlsClient?: number): string[] {
  const clients = [`http://127.0.0.1:${client}`, ...(tlsClient ? [`https://127.0.0.1:${tlsClient}`] : [])].join(',');
  return [
    '--name', name,
    '--data-dir', `${ctx.dir}/${name}.etcd`,
    '--listen-client-urls', clients,
    '--advertise-client-urls', clients,
    // The TLS client URL serves gRPC over h2 chosen with ALPN, with the lab certificate.
    ...(tlsClient ? ['--cert-file', ctx.tls.certPath, '--key-file', ctx.tls.keyPath] : []),
    '--listen-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `${name}=http://127.0.0.1:${peer}`,
    '--log-level', 'warn',
  ];
}

/** Runs etcdctl until it succeeds (the daemon may still be starting): at most ~10 s. */
async function etcdctl(ctx: LabContext, port: number, args: string[]): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await ctx.exec('env', ['ETCDCTL_API=3', '/usr/bin/etcdctl', `--endpoints=127.0.0.1:${port}`, '--dial-timeout=1s', ...args]);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

const etcd: LabServer = {
  name: 'etcd',
  area: 'services-a',
  packages: ['etcd-server', 'etcd-client'],
  ports: [p.etcd, p.etcdPeer, p.etcdAuth, p.etcdAuthPeer, p.etcdTls],
  async start(ctx) {
    const f = servicesFacts.etcd;
    // A fresh data dir each start: the auth setup below runs on an empty store.
    await ctx.exec('rm', ['-rf', `${ctx.dir}/lab.etcd`, `${ctx.dir}/lab-auth.etcd`]);
    await ctx.spawnDaemon({ label: 'etcd', command: '/usr/bin/etcd', args: etcdArgs(ctx, 'lab', p.etcd, p.etcdPeer, p.etcdTls) });
    await ctx.spawnDaemon({ label: 'etcd-auth', command: '/usr/bin/etcd', args: etcdArgs(ctx, 'lab-auth', p.etcdAuth, p.etcdAuthPeer) });
    const root = ['--user', `root:${f.rootPassword}`];
    await etcdctl(ctx, p.etcdAuth, ['user', 'add', `root:${f.rootPassword}`]);
    await etcdctl(ctx, p.etcdAuth, ['user', 'add', `${f.user}:${f.userPassword}`]);
    await etcdctl(ctx, p.etcdAuth, ['role', 'add', 'app']);
    await etcdctl(ctx, p.etcdAuth, ['role', 'grant-permission', 'app', '--prefix=true', 'readwrite', f.userPrefix]);
    await etcdctl(ctx, p.etcdAuth, ['user', 'grant-role', f.user, 'app']);
    await etcdctl(ctx, p.etcdAuth, ['auth', 'enable']);
    await etcdctl(ctx, p.etcdAuth, [...root, 'put', `${f.userPrefix}hello`, 'from the lab']);
  },
  async health(ctx) {
    await etcdctl(ctx, p.etcd, ['endpoint', 'health']);
    expectIncludes('etcd with auth', Buffer.from(await etcdctl(ctx, p.etcdAuth, ['--user', `root:${servicesFacts.etcd.rootPassword}`, 'get', `${servicesFacts.etcd.userPrefix}hello`])), 'from the lab');
  },
};

const svnserve: LabServer = {
  name: 'svn',
  area: 'services-a',
  packages: ['subversion'],
  ports: [p.svn],
  async start(ctx) {
    const f = servicesFacts.svn;
    const root = `${ctx.dir}/repos`;
    const repo = `${root}${f.repo}`;
    const url = `file://${repo}`;
    await ctx.exec('rm', ['-rf', root, `${ctx.dir}/tree`, `${ctx.dir}/wc`]);
    await ctx.exec('mkdir', ['-p', root]);
    await ctx.exec('svnadmin', ['create', repo]);
    ctx.writeFile('tree/README', 'Portolan lab Subversion repository\n');
    ctx.writeFile('tree/src/hello.c', '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    ctx.writeFile('tree/docs/guide.txt', 'A guide.\n'.repeat(50));
    const svn = (args: string[]) => ctx.exec('svn', ['--non-interactive', '--username', f.user, ...args]);
    await svn(['import', '-q', '-m', f.messages[0], `${ctx.dir}/tree`, url]);
    await svn(['checkout', '-q', url, `${ctx.dir}/wc`]);
    ctx.writeFile('wc/README', 'Portolan lab Subversion repository, revised\n');
    await svn(['commit', '-q', '-m', f.messages[1], `${ctx.dir}/wc`]);
    ctx.writeFile(`wc/${f.privatePath}/note.txt`, 'for alice only\n');
    await svn(['add', '-q', `${ctx.dir}/wc/${f.privatePath}`]);
    await svn(['commit', '-q', '-m', f.messages[2], `${ctx.dir}/wc`]);
    ctx.writeFile(`repos${f.repo}/conf/svnserve.conf`, `[general]\nanon-access = read\nauth-access = write\npassword-db = passwd\nauthz-db = authz\nrealm = ${f.realm}\n`);
    ctx.writeFile(`repos${f.repo}/conf/passwd`, `[users]\n${f.user} = ${f.password}\n`);
    ctx.writeFile(`repos${f.repo}/conf/authz`, `[/]\n* = r\n${f.user} = rw\n\n[/${f.privatePath}]\n* =\n${f.user} = rw\n`);
    await ctx.spawnDaemon({ command: '/usr/bin/svnserve', args: ['-d', '--foreground', '-r', root, '--listen-host', '127.0.0.1', '--listen-port', String(p.svn)] });
  },
  async health() {
    expectIncludes('svnserve', await exchange(p.svn, { until: (b) => b.includes(') ) ') }), '( success ( 2 2');
  },
};

/**
 * Podman's Docker-compatible API. In this sandbox containers run with runc and cgroupfs (crun refuses the hybrid
 * cgroup layout), lower ulimits than Podman's defaults (raising them is not permitted) and no network namespace.
 */
function podmanEnv(ctx: LabContext): Record<string, string> {
  const conf = ctx.writeFile(
    'containers.conf',
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'netns = "none"',
      'log_driver = "k8s-file"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      '[engine.runtimes]',
      'runc = ["/usr/sbin/runc"]',
      '',
    ].join('\n'),
  );
  const storage = ctx.writeFile('storage.conf', `[storage]\ndriver = "vfs"\ngraphroot = "${ctx.dir}/storage"\nrunroot = "${ctx.dir}/run"\n`);
  return { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
}

async function podman(ctx: LabContext, env: Record<string, string>, args: string[]): Promise<string> {
  return ctx.exec('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/usr/bin/podman', ...args]);
}

const docker: LabServer = {
  name: 'docker',
  area: 'services-a',
  packages: ['podman', 'runc', 'busybox-static', 'openssl'],
  ports: [p.docker],
  async start(ctx) {
    const f = servicesFacts.docker;
    const env = podmanEnv(ctx);
    // A client certificate from the lab CA, for the TLS front (HAProxy verifies it).
    const ca = ctx.tls.caPath.replace(/\.pem$/, '.key');
    const ext = ctx.writeFile('client.ext', 'extendedKeyUsage = clientAuth\n');
    await ctx.exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ctx.dir}/client.key`, '-subj', '/CN=portolan-docker-client', '-out', `${ctx.dir}/client.csr`]);
    await ctx.exec('openssl', ['x509', '-req', '-in', `${ctx.dir}/client.csr`, '-CA', ctx.tls.caPath, '-CAkey', ca, '-CAcreateserial', '-CAserial', `${ctx.dir}/ca.srl`, '-days', '3650', '-extfile', ext, '-out', `${ctx.dir}/client.pem`]);
    await ctx.exec('chmod', ['0644', `${ctx.dir}/client.key`]);
    // The image: busybox-static as a root file system.
    await ctx.exec('rm', ['-rf', `${ctx.dir}/rootfs`]);
    ctx.writeFile('rootfs/bin/.keep', '');
    await ctx.exec('cp', ['/bin/busybox', `${ctx.dir}/rootfs/bin/busybox`]);
    for (const tool of ['sh', 'echo', 'cat', 'ls', 'sleep', 'id', 'env', 'pwd']) await ctx.exec('ln', ['-sf', 'busybox', `${ctx.dir}/rootfs/bin/${tool}`]);
    await ctx.exec('tar', ['-C', `${ctx.dir}/rootfs`, '-cf', `${ctx.dir}/rootfs.tar`, '.']);
    // A container left by an earlier run can sit in "stopping" (its recorded pid since reused): one `rm -f`
    // moves it to stopped, the next removes it.
    for (const name of [f.running, f.stopped]) {
      for (let i = 0; i < 3; i++) {
        await podman(ctx, env, ['rm', '-f', '-t', '0', name]).catch(() => '');
        if (!(await podman(ctx, env, ['container', 'exists', name]).then(() => true, () => false))) break;
      }
    }
    await podman(ctx, env, ['import', '-q', `${ctx.dir}/rootfs.tar`, f.image]);
    const script = [...f.stdout.slice(0, 1).map((l) => `echo '${l}'`), ...f.stderr.map((l) => `echo '${l}' >&2`), ...f.stdout.slice(1).map((l) => `echo '${l}'`), 'exec sleep 2147483647'].join('; ');
    await podman(ctx, env, ['run', '-d', '--name', f.running, '--label', 'portolan=lab', f.image, '/bin/sh', '-c', script]);
    await podman(ctx, env, ['create', '--name', f.stopped, f.image, '/bin/echo', 'never started']);
    await ctx.spawnDaemon({ command: '/usr/bin/podman', args: ['system', 'service', '--time=0', `tcp:127.0.0.1:${p.docker}`], env });
  },
  async health() {
    expectIncludes('podman API', await exchange(p.docker, { send: 'GET /_ping HTTP/1.0\r\nHost: lab\r\n\r\n' }), 'OK');
  },
};

export const servers: LabServer[] = [haproxy, varnish, phpFpm, fcgiwrap, uwsgi, gitDaemon, aria2, soap, etcd, svnserve, docker];
