// Service-plane servers, each on 127.0.0.1: a CVS pserver (through socat), Erlang's epmd with a node
// registered, the adb host server, a JVM with an RMI registry and the JDWP agent, Rserve (plain and crypt
// logins), a Thrift server on python3-thrift, debugpy (DAP), python-lsp-server, Jupyter Server (token; TLS with a password), headless
// Chromium and Node with --inspect. The slow starters start concurrently.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports['services-b'];
const python = '/usr/bin/python3';
const filesDir = (ctx: LabContext) => join(ctx.repoRoot, 'lab', 'services-b');

/** What these servers are known to hold, for tests to assert against. */
export const servicesFacts = {
  cvs: {
    root: join(labDir, 'cvs', 'cvsroot'),
    user: 'portolan',
    password: 'portolan-secret',
    module: 'harbour',
    files: ['README', 'ships.txt'],
    readme: 'The lighthouse keeper logs every ship.\n',
  },
  epmd: { node: 'portolan', distributionPort: p.erlangNode },
  rmi: { names: ['portolan/clock', 'portolan/greeter'] },
  jdwp: { mainClass: 'LabJvm', thread: 'portolan-worker' },
  rserve: { user: 'portolan', password: 'portolan-secret' },
  jupyterTls: { password: 'portolan-secret' },
  jupyter: { token: 'portolan-lab-token', notebookDir: 'harbour', file: 'harbour/ships.txt', fileText: 'Portolan\nLighthouse\n', bigFile: 'charts/coast.txt', bigFileBytes: 2 * 1024 * 1024 },
  node: { title: 'portolan-inspect-target' },
};

/** GET `path` and expect `expected` in the answer (Chromium keeps the connection open after it). */
async function expectHttp(what: string, port: number, path: string, expected: string, headers = ''): Promise<void> {
  const send = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}Connection: close\r\n\r\n`;
  expectIncludes(what, await exchange(port, { send, until: (b) => b.includes(expected) }), expected);
}

/** A Content-Length framed JSON message (the base protocol of LSP and DAP). */
function contentLength(message: unknown): string {
  const body = JSON.stringify(message);
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const cvs: LabServer = {
  name: 'cvs',
  area: 'services-b',
  packages: ['cvs', 'socat'],
  ports: [p.cvs],
  async start(ctx) {
    const root = join(ctx.dir, 'cvsroot');
    const locks = join(ctx.dir, 'locks');
    const work = join(ctx.dir, 'import', servicesFacts.cvs.module);
    rmSync(root, { recursive: true, force: true });
    rmSync(join(ctx.dir, 'import'), { recursive: true, force: true });
    mkdirSync(locks, { recursive: true });
    chmodSync(locks, 0o1777);
    await ctx.exec('cvs', ['-d', root, 'init']);
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'README'), servicesFacts.cvs.readme);
    writeFileSync(join(work, 'ships.txt'), 'Santa Maria\nPinta\n');
    await ctx.exec('cvs', ['-d', root, 'import', '-m', 'Harbour records', servicesFacts.cvs.module, 'portolan', 'start'], { cwd: work });
    // CVSROOT/passwd: user, crypt(3) hash, the system user the server runs as (pserver refuses root).
    const hash = (await ctx.exec(python, ['-c', `import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))`, servicesFacts.cvs.password])).trim();
    writeFileSync(join(root, 'CVSROOT', 'passwd'), `${servicesFacts.cvs.user}:${hash}:nobody\n`);
    writeFileSync(join(root, 'CVSROOT', 'config'), `SystemAuth=no\nLockDir=${locks}\n`);
    await ctx.exec('chmod', ['-R', 'a+rX', root]);
    // nofork: each connection's socat execs cvs with the socket as its stdin and stdout, as inetd would; with a
    // pipe in between, socat may close the connection before relaying the last lines of a cvs that exits 1.
    await ctx.spawnDaemon({
      command: '/usr/bin/socat',
      args: [`TCP-LISTEN:${p.cvs},bind=127.0.0.1,reuseaddr,fork`, `EXEC:cvs -f --allow-root=${root} pserver,nofork`],
    });
  },
  async health() {
    const request = `BEGIN VERIFICATION REQUEST\n${servicesFacts.cvs.root}\nnobody-here\nA\nEND VERIFICATION REQUEST\n`;
    expectIncludes('cvs pserver', await exchange(p.cvs, { send: request, until: (b) => b.includes('\n') }), 'no such user');
  },
};

const epmd: LabServer = {
  name: 'epmd',
  area: 'services-b',
  packages: ['erlang-base'],
  ports: [p.epmd, p.erlangNode],
  async start(ctx) {
    await ctx.spawnDaemon({ label: 'epmd', command: '/usr/bin/epmd', args: ['-port', String(p.epmd), '-address', '127.0.0.1'] });
    await ctx.spawnDaemon({
      label: 'node',
      command: '/usr/bin/erl',
      args: [
        '-sname', servicesFacts.epmd.node, '-setcookie', 'portolan-lab', '-noshell', '-start_epmd', 'false',
        '-kernel', 'inet_dist_listen_min', String(p.erlangNode), 'inet_dist_listen_max', String(p.erlangNode),
        'inet_dist_use_interface', '{127,0,0,1}',
      ],
      env: { HOME: ctx.dir, ERL_EPMD_PORT: String(p.epmd), ERL_EPMD_ADDRESS: '127.0.0.1' },
    });
  },
  async health() {
    // NAMES_REQ (110): the reply lists the registered node.
    const names = await exchange(p.epmd, { send: Buffer.from([0, 1, 110]) });
    expectIncludes('epmd', names, `name ${servicesFacts.epmd.node} at port ${p.erlangNode}`);
  },
};

const adb: LabServer = {
  name: 'adb',
  area: 'services-b',
  packages: ['adb'],
  ports: [p.adb],
  async start(ctx) {
    await ctx.spawnDaemon({ command: '/usr/bin/adb', args: ['-L', `tcp:${p.adb}`, 'nodaemon', 'server'], env: { HOME: ctx.dir, ADB_MDNS: '0' } });
  },
  async health() {
    expectIncludes('adb', await exchange(p.adb, { send: '000chost:version', until: (b) => b.length >= 12 }), 'OKAY');
  },
};

const jvm: LabServer = {
  name: 'jvm',
  area: 'services-b',
  packages: ['openjdk-17-jdk-headless'],
  ports: [p.rmiRegistry, p.rmiObject, p.jdwp],
  concurrent: true,
  async start(ctx) {
    copyFileSync(join(filesDir(ctx), 'LabJvm.java'), join(ctx.dir, 'LabJvm.java'));
    await ctx.spawnDaemon({
      command: '/usr/bin/java',
      args: [
        `-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:${p.jdwp}`,
        '-Djava.rmi.server.hostname=127.0.0.1', '-XX:TieredStopAtLevel=1', '-Xmx64m',
        'LabJvm.java', String(p.rmiRegistry), String(p.rmiObject),
      ],
    });
  },
  async health() {
    expectIncludes('jdwp', await exchange(p.jdwp, { send: 'JDWP-Handshake', until: (b) => b.length >= 14 }), 'JDWP-Handshake');
    // JRMP: "JRMI", version 2, StreamProtocol; the registry answers ProtocolAck (0x4e).
    const ack = await exchange(p.rmiRegistry, { send: Buffer.from([0x4a, 0x52, 0x4d, 0x49, 0, 2, 0x4b]), until: (b) => b.length >= 3 });
    if (ack[0] !== 0x4e) throw new Error(`rmi registry answered ${ack.toString('hex')} instead of ProtocolAck`);
  },
};

const rserve: LabServer = {
  name: 'rserve',
  area: 'services-b',
  packages: ['r-cran-rserve'],
  ports: [p.rserve, p.rserveCrypt],
  concurrent: true,
  async start(ctx) {
    const pwd = ctx.writeFile('passwords', `${servicesFacts.rserve.user} ${servicesFacts.rserve.password}\n`);
    for (const [label, port, plaintext] of [['plain', p.rserve, 'enable'], ['crypt', p.rserveCrypt, 'disable']] as const) {
      const conf = ctx.writeFile(`${label}.conf`, `port ${port}\nremote disable\nauth required\nplaintext ${plaintext}\npwdfile ${pwd}\n`);
      await ctx.spawnDaemon({ label, command: '/usr/bin/Rscript', args: ['-e', `Rserve::run.Rserve(config.file="${conf}")`], env: { HOME: ctx.dir } });
    }
  },
  async health() {
    expectIncludes('rserve', await exchange(p.rserve, { until: (b) => b.length >= 32 }), 'ARpt');
    expectIncludes('rserve crypt', await exchange(p.rserveCrypt, { until: (b) => b.length >= 32 }), 'ARuc');
  },
};

const thrift: LabServer = {
  name: 'thrift',
  area: 'services-b',
  packages: ['python3-thrift', 'thrift-compiler'],
  ports: [p.thriftBinary, p.thriftCompact],
  async start(ctx) {
    const idl = join(ctx.dir, 'lab.thrift');
    copyFileSync(join(filesDir(ctx), 'lab.thrift'), idl);
    copyFileSync(join(filesDir(ctx), 'thrift-server.py'), join(ctx.dir, 'server.py'));
    const gen = join(ctx.dir, 'gen');
    rmSync(gen, { recursive: true, force: true });
    mkdirSync(gen);
    await ctx.exec('/usr/bin/thrift', ['--gen', 'py', '-out', gen, idl]);
    await ctx.spawnDaemon({ command: python, args: ['-u', join(ctx.dir, 'server.py'), gen, String(p.thriftBinary), String(p.thriftCompact)] });
  },
  async health() {
    // ping() over TBinaryProtocol (strict) and TBufferedTransport: a REPLY carrying "pong".
    const call = Buffer.concat([Buffer.from('8001000100000004', 'hex'), Buffer.from('ping'), Buffer.from('0000000000', 'hex')]);
    expectIncludes('thrift', await exchange(p.thriftBinary, { send: call, until: (b) => b.includes('pong') }), 'pong');
  },
};

const dap: LabServer = {
  name: 'debugpy',
  area: 'services-b',
  packages: ['python3-debugpy'],
  ports: [p.dap],
  async start(ctx) {
    // The adapter runs inside the debuggee (pydevd speaks DAP itself): `python3 -m debugpy --listen` spawns a separate
    // adapter that double-forks out of the lab's process group, outlives a stop and keeps the port.
    const script = ctx.writeFile(
      'debuggee.py',
      `import time\n\nimport debugpy\n\ndebugpy.listen(("127.0.0.1", ${p.dap}), in_process_debug_adapter=True)\nharbour = ["Portolan", "Lighthouse"]\nwhile True:\n    time.sleep(1)\n`,
    );
    await ctx.spawnDaemon({ command: python, args: [script] });
  },
  async health() {
    const init = contentLength({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'lab', clientID: 'lab' } });
    expectIncludes('debugpy', await exchange(p.dap, { send: init, until: (b) => b.includes('"command": "initialize"') }), 'supportsConfigurationDoneRequest');
  },
};

const lsp: LabServer = {
  name: 'pylsp',
  area: 'services-b',
  packages: ['python3-pylsp'],
  ports: [p.lsp],
  async start(ctx) {
    await ctx.spawnDaemon({ command: '/usr/bin/pylsp', args: ['--tcp', '--host', '127.0.0.1', '--port', String(p.lsp)], env: { HOME: ctx.dir } });
  },
  async health() {
    const init = contentLength({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    expectIncludes('pylsp', await exchange(p.lsp, { send: init, until: (b) => b.includes('"id":1') }), 'hoverProvider');
  },
};

const jupyter: LabServer = {
  name: 'jupyter',
  area: 'services-b',
  packages: ['python3-jupyter-server', 'python3-ipykernel'],
  ports: [p.jupyter],
  concurrent: true,
  async start(ctx) {
    const root = join(ctx.dir, 'root');
    rmSync(root, { recursive: true, force: true });
    ctx.writeFile(`root/${servicesFacts.jupyter.file}`, servicesFacts.jupyter.fileText);
    ctx.writeFile(`root/${servicesFacts.jupyter.bigFile}`, 'coast line\n'.repeat(servicesFacts.jupyter.bigFileBytes / 11));
    await ctx.spawnDaemon({
      command: python,
      args: [
        '-m', 'jupyter_server', '--allow-root', '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${p.jupyter}`, '--ServerApp.port_retries=0',
        `--IdentityProvider.token=${servicesFacts.jupyter.token}`, `--ServerApp.token=${servicesFacts.jupyter.token}`, '--ServerApp.open_browser=False',
        `--ServerApp.root_dir=${root}`, '--ServerApp.disable_check_xsrf=False',
      ],
      env: jupyterEnv(ctx),
    });
  },
  async health() {
    await expectHttp('jupyter', p.jupyter, '/api/status', '"started"', `Authorization: token ${servicesFacts.jupyter.token}\r\n`);
  },
};

/** GET `path` over TLS (trusting the lab CA) and expect `expected` in the answer. */
function expectHttps(what: string, port: number, path: string, expected: string, caPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(caPath) }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    const timer = setTimeout(() => socket.destroy(new Error(`${what}: no answer within 2000 ms`)), 2000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${e.message}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        expectIncludes(what, Buffer.concat(chunks), expected);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

function jupyterEnv(ctx: LabContext): Record<string, string> {
  return { HOME: ctx.dir, JUPYTER_RUNTIME_DIR: join(ctx.dir, 'runtime'), JUPYTER_DATA_DIR: join(ctx.dir, 'data'), JUPYTER_CONFIG_DIR: join(ctx.dir, 'config'), IPYTHONDIR: join(ctx.dir, 'ipython') };
}

/** A second Jupyter Server: HTTPS with the lab certificate and a password login instead of a token. */
const jupyterTls: LabServer = {
  name: 'jupyter-tls',
  area: 'services-b',
  packages: ['python3-jupyter-server', 'python3-ipykernel'],
  ports: [p.jupyterTls],
  concurrent: true,
  async start(ctx) {
    const root = join(ctx.dir, 'root');
    rmSync(root, { recursive: true, force: true });
    ctx.writeFile(`root/${servicesFacts.jupyter.file}`, servicesFacts.jupyter.fileText);
    const hash = (await ctx.exec(python, ['-c', 'import sys\nfrom jupyter_server.auth import passwd\nprint(passwd(sys.argv[1]))', servicesFacts.jupyterTls.password])).trim();
    await ctx.spawnDaemon({
      command: python,
      args: [
        '-m', 'jupyter_server', '--allow-root', '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${p.jupyterTls}`, '--ServerApp.port_retries=0',
        '--ServerApp.token=', `--ServerApp.password=${hash}`, `--ServerApp.certfile=${ctx.tls.certPath}`, `--ServerApp.keyfile=${ctx.tls.keyPath}`,
        '--ServerApp.open_browser=False', `--ServerApp.root_dir=${root}`,
      ],
      env: jupyterEnv(ctx),
    });
  },
  async health(ctx) {
    await expectHttps('jupyter over TLS', p.jupyterTls, '/login', '_xsrf', ctx.tls.caPath);
  },
};

const chromium: LabServer = {
  name: 'chromium-cdp',
  area: 'services-b',
  packages: ['chromium'],
  ports: [p.chromium],
  concurrent: true,
  async start(ctx) {
    const profile = join(ctx.dir, 'profile');
    rmSync(profile, { recursive: true, force: true });
    await ctx.spawnDaemon({
      command: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--remote-debugging-address=127.0.0.1',
        `--remote-debugging-port=${p.chromium}`, '--window-size=800,600', 'about:blank',
      ],
      env: { HOME: ctx.dir },
    });
  },
  async health() {
    await expectHttp('chromium', p.chromium, '/json/version', 'webSocketDebuggerUrl');
  },
};

const nodeInspect: LabServer = {
  name: 'node-inspect',
  area: 'services-b',
  packages: [],
  ports: [p.nodeInspector],
  async start(ctx) {
    const script = ctx.writeFile(
      'target.js',
      `process.title = ${JSON.stringify(servicesFacts.node.title)};\nglobalThis.harbour = { ships: 3, name: 'Portolan' };\nlet tick = 0;\nsetInterval(() => console.log('tick', ++tick), 1000);\n`,
    );
    await ctx.spawnDaemon({ command: process.execPath, args: [`--inspect=127.0.0.1:${p.nodeInspector}`, script] });
  },
  async health() {
    await expectHttp('node --inspect', p.nodeInspector, '/json/version', '"Browser"');
  },
};

export const servers: LabServer[] = [cvs, epmd, adb, thrift, dap, lsp, nodeInspect, jvm, rserve, jupyter, jupyterTls, chromium];
