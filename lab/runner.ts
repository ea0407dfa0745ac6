// The lab runner: installs Debian packages, makes the test CA, starts, checks and stops lab servers.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { duplicatePorts, ports, portsInRange } from './ports.ts';
import { isListening } from './probe.ts';
import type { DaemonSpec, ExecOptions, LabContext, LabServer, TlsPaths } from './server.ts';

export const labRoot = dirname(fileURLToPath(import.meta.url));
export const repoRoot = dirname(labRoot);
export const labDir = process.env.PORTOLAN_LAB_DIR ?? '/tmp/portolan-lab';
export const tlsPaths: TlsPaths = {
  caPath: join(labDir, 'ca.pem'),
  certPath: join(labDir, 'server.pem'),
  keyPath: join(labDir, 'server.key'),
};

const runDir = join(labDir, 'run');
const startTimeoutMs = 20_000;
const lockTimeoutMs = 15 * 60_000;

export type Log = (message: string) => void;

export class LabError extends Error {
  override name = 'LabError';
}

// Server definitions: every lab/servers/<area>.ts exports `servers: LabServer[]`.

export function knownAreas(): string[] {
  return readdirSync(join(labRoot, 'servers'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();
}

export async function loadServers(areas: readonly string[] = []): Promise<LabServer[]> {
  const known = knownAreas();
  const unknown = areas.filter((area) => !known.includes(area));
  if (unknown.length > 0) throw new LabError(`unknown lab area ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const servers: LabServer[] = [];
  for (const area of areas.length > 0 ? areas : known) {
    const module = (await import(pathToFileURL(join(labRoot, 'servers', `${area}.ts`)).href)) as { servers?: LabServer[] };
    if (!Array.isArray(module.servers)) throw new LabError(`lab/servers/${area}.ts does not export servers: LabServer[]`);
    for (const server of module.servers) {
      if (!/^[a-z0-9-]+$/.test(server.name)) throw new LabError(`lab server name ${JSON.stringify(server.name)}: use [a-z0-9-]`);
      if (server.area !== area) throw new LabError(`server ${server.name} in lab/servers/${area}.ts says area ${server.area}`);
      servers.push(server);
    }
  }
  const names = servers.map((server) => server.name);
  const twice = names.filter((name, index) => names.indexOf(name) !== index);
  if (twice.length > 0) throw new LabError(`lab server names used twice: ${twice.join(', ')}`);
  return servers;
}

// Definitions: a healthy server is reused only when it was started from the definition the lab has now. A
// server's fingerprint covers its area file, the lab modules that file imports (transitively), the lab files it
// names (scripts, configs), its name and its ports; run/<name>.def holds the fingerprint it was started with.

const areaFingerprints = new Map<string, string>();

function labSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name !== 'README.md') out.push(path);
    }
  };
  walk(labRoot);
  return out;
}

function areaFingerprint(area: string): string {
  const known = areaFingerprints.get(area);
  if (known) return known;
  const sources = labSources();
  const hash = createHash('sha256');
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path) || !existsSync(path)) return;
    seen.add(path);
    const text = readFileSync(path, 'utf8');
    hash.update(`${relative(labRoot, path)}\0${text}\0`);
    if (!path.endsWith('.ts')) return;
    for (const match of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(path), match[1]);
      // Ports come in per server; the generic runner and types are the lab's, not a server's definition.
      if (target.startsWith(labRoot) && !['ports.ts', 'runner.ts', 'index.ts'].includes(relative(labRoot, target))) visit(target);
    }
    for (const other of sources) if (!other.endsWith('.ts') && text.includes(basename(other))) visit(other);
  };
  visit(join(labRoot, 'servers', `${area}.ts`));
  const fingerprint = hash.digest('hex');
  areaFingerprints.set(area, fingerprint);
  return fingerprint;
}

function fingerprintOf(server: LabServer): string {
  return createHash('sha256').update(`${areaFingerprint(server.area)}\0${server.name}\0${JSON.stringify(server.ports)}`).digest('hex');
}

const definitionPath = (server: LabServer) => join(runDir, `${server.name}.def`);

function startedFromCurrent(server: LabServer): boolean {
  try {
    return readFileSync(definitionPath(server), 'utf8').trim() === fingerprintOf(server);
  } catch {
    return false;
  }
}

// Processes: a pid file holds the pid and the kernel start time, so a reused pid is never signalled.

interface PidRecord {
  pid: number;
  startTime: string;
  command: string;
  args: readonly string[];
}

function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isRunning(record: PidRecord): boolean {
  return procStartTime(record.pid) === record.startTime;
}

function pidFiles(serverName?: string): string[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((file) => file.endsWith('.pid'))
    .filter((file) => serverName === undefined || file === `${serverName}.pid` || file.startsWith(`${serverName}.`))
    .map((file) => join(runDir, file));
}

function readPidFile(path: string): PidRecord | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
  } catch {
    return null;
  }
}

function runningRecords(serverName: string): PidRecord[] {
  return pidFiles(serverName)
    .map(readPidFile)
    .filter((record): record is PidRecord => record !== null && isRunning(record));
}

function signalGroup(record: PidRecord, signal: NodeJS.Signals): void {
  try {
    process.kill(-record.pid, signal);
  } catch {
    try {
      process.kill(record.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function killRecorded(path: string): Promise<PidRecord | null> {
  const record = readPidFile(path);
  rmSync(path, { force: true });
  if (record === null || !isRunning(record)) return null;
  signalGroup(record, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isRunning(record) && Date.now() < deadline) await sleep(100);
  if (isRunning(record)) signalGroup(record, 'SIGKILL');
  while (isRunning(record) && Date.now() < deadline + 2000) await sleep(50);
  return record;
}

// A daemon's own pid file from an earlier run names a pid the system may have given to another process
// (xl2tpd then refuses: "already a server running"), and a stale unix socket looks ready before the new
// daemon binds it. Both go before a start; the lab's own records live in run/.
function removeStaleRuntimeFiles(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isSocket() || (entry.isFile() && entry.name.endsWith('.pid'))) rmSync(join(dir, entry.name), { force: true });
  }
}

async function stopServer(serverName: string, log: Log): Promise<void> {
  for (const path of pidFiles(serverName)) {
    const record = await killRecorded(path);
    if (record) log(`stopped ${basename(path, '.pid')} (pid ${record.pid})`);
  }
}

// Commands

/** Commands that lock /etc/passwd, /etc/shadow or /etc/group, and give up when another holds the lock. */
const ACCOUNT_COMMANDS = new Set(['useradd', 'usermod', 'userdel', 'groupadd', 'groupmod', 'gpasswd', 'chpasswd', 'adduser', 'addgroup', 'deluser']);

/** Runs tasks one at a time, in the order they were given. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => {});
    return next;
  }
}

const accounts = new Serial();

function execCommand(command: string, args: readonly string[], options: ExecOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new LabError(`${command}: ${error.message}`)));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve(stdout);
      const output = tail(`${stdout}${Buffer.concat(err).toString('utf8')}`, 30);
      reject(new LabError(`${command} ${args.join(' ')} exited ${code ?? signal}\n${output}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}

// Debian packages

export function missingPackages(packages: readonly string[]): string[] {
  return [...new Set(packages)].filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || result.stdout.trim() !== 'install ok installed';
  });
}

const policyRcPath = '/usr/sbin/policy-rc.d';

/** apt-get waits up to ten minutes for another apt or dpkg run (an unattended upgrade, an admin) to finish. */
const APT_WAIT = ['-o', 'DPkg::Lock::Timeout=600'];

export async function installPackages(packages: readonly string[], log: Log): Promise<void> {
  const missing = missingPackages(packages);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new LabError(`missing Debian packages: ${missing.join(' ')} (run the lab as root, or apt-get install them)`);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ownPolicy = !existsSync(policyRcPath);
  if (ownPolicy) writeFileSync(policyRcPath, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const aptLog = join(labDir, 'apt.log');
    appendFileSync(aptLog, await execCommand('apt-get', [...APT_WAIT, 'update'], { env }));
    appendFileSync(
      aptLog,
      await execCommand(
        'apt-get',
        [...APT_WAIT, 'install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold', '-o', 'Dpkg::Options::=--force-confdef', ...missing],
        { env },
      ),
    );
  } finally {
    if (ownPolicy) rmSync(policyRcPath, { force: true });
  }
  const still = missingPackages(missing);
  if (still.length > 0) throw new LabError(`apt-get install finished but these packages are not installed: ${still.join(' ')}`);
}

/** Where a package from LabServer.unpacked lives; a version file marks a complete extraction. */
export function unpackedRoot(name: string): string {
  return join(labDir, 'unpacked', name);
}

function aptVersion(name: string): string {
  const policy = spawnSync('apt-cache', ['policy', name], { encoding: 'utf8' }).stdout ?? '';
  return /Candidate:\s*(\S+)/.exec(policy)?.[1] ?? '(none)';
}

/**
 * Extracts packages that cannot be installed beside another lab package: `apt-get download`, then
 * `apt-get satisfy` for the package's Depends, then `dpkg-deb -x` into unpackedRoot(name).
 */
export async function unpackPackages(names: readonly string[], log: Log): Promise<void> {
  const pending = [...new Set(names)].filter((name) => {
    const marker = join(unpackedRoot(name), '.version');
    return !existsSync(marker) || readFileSync(marker, 'utf8') !== aptVersion(name);
  });
  if (pending.length === 0) return;
  if (process.getuid?.() !== 0) throw new LabError(`cannot unpack Debian packages ${pending.join(' ')} without root (apt-get satisfy)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const aptLog = join(labDir, 'apt.log');
  const downloads = join(labDir, 'unpacked', '.downloads');
  mkdirSync(downloads, { recursive: true, mode: 0o755 });
  for (const name of pending) {
    log(`unpacking Debian package ${name}`);
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true, mode: 0o755 });
    try {
      await execCommand('apt-get', ['download', name], { env, cwd: downloads });
    } catch {
      appendFileSync(aptLog, await execCommand('apt-get', [...APT_WAIT, 'update'], { env }));
      await execCommand('apt-get', ['download', name], { env, cwd: downloads });
    }
    const deb = readdirSync(downloads).find((file) => file.endsWith('.deb'));
    if (!deb) throw new LabError(`apt-get download ${name} left no .deb in ${downloads}`);
    const path = join(downloads, deb);
    const depends = (await execCommand('dpkg-deb', ['-f', path, 'Depends'])).trim();
    if (depends) {
      appendFileSync(aptLog, await execCommand('apt-get', [...APT_WAIT, 'satisfy', '-y', '--no-install-recommends', depends], { env }));
    }
    const root = unpackedRoot(name);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true, mode: 0o755 });
    await execCommand('dpkg-deb', ['-x', path, root]);
    writeFileSync(join(root, '.version'), aptVersion(name));
  }
  rmSync(downloads, { recursive: true, force: true });
}

// The test CA and the server certificate

function certificateIsValid(): boolean {
  const { caPath, certPath, keyPath } = tlsPaths;
  if (![caPath, certPath, keyPath].every((path) => existsSync(path))) return false;
  const verify = spawnSync('openssl', ['verify', '-CAfile', caPath, certPath], { encoding: 'utf8' });
  const expiry = spawnSync('openssl', ['x509', '-checkend', String(7 * 24 * 3600), '-noout', '-in', certPath], { encoding: 'utf8' });
  return verify.status === 0 && expiry.status === 0;
}

export async function ensureTls(log: Log): Promise<TlsPaths> {
  if (certificateIsValid()) return tlsPaths;
  log(`generating the test CA and server certificate in ${labDir}`);
  const { caPath, certPath, keyPath } = tlsPaths;
  const caKey = join(labDir, 'ca.key');
  const csr = join(labDir, 'server.csr');
  const extensions = join(labDir, 'server.ext');
  writeFileSync(
    extensions,
    [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1',
      '',
    ].join('\n'),
  );
  await execCommand('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
    '-subj', '/O=Portolan Lab/CN=Portolan Lab Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', caKey, '-out', caPath,
  ]);
  await execCommand('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/O=Portolan Lab/CN=localhost', '-keyout', keyPath, '-out', csr]);
  await execCommand('openssl', [
    'x509', '-req', '-sha256', '-days', '825', '-in', csr, '-CA', caPath, '-CAkey', caKey,
    '-CAcreateserial', '-extfile', extensions, '-out', certPath,
  ]);
  rmSync(csr, { force: true });
  rmSync(extensions, { force: true });
  chmodSync(caKey, 0o600);
  for (const path of [caPath, certPath, keyPath]) chmodSync(path, 0o644);
  return tlsPaths;
}

// One lab run at a time per state dir (parallel test workers call ensureLab together).

function lockHolder(lockPath: string): number | 'gone' | 'stale' {
  try {
    const holder = Number(readFileSync(lockPath, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0) return procStartTime(holder) === null ? 'stale' : holder;
    return Date.now() - statSync(lockPath).mtimeMs > 5000 ? 'stale' : 0;
  } catch {
    return 'gone';
  }
}

async function withLock<T>(action: () => Promise<T>, log: Log): Promise<T> {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const lockPath = join(runDir, 'lock');
  const deadline = Date.now() + lockTimeoutMs;
  let waiting = false;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(lockPath);
      if (holder === 'gone') continue;
      if (holder === 'stale') {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new LabError(`lab lock ${lockPath} held by pid ${holder} for too long`);
      if (!waiting) log(`waiting for another lab run (pid ${holder || 'starting'})`);
      waiting = true;
      await sleep(250);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

// Context handed to each server

interface ServerRun {
  ctx: LabContext;
  exited: string[];
}

function serverDir(server: LabServer): string {
  return join(labDir, server.name);
}

function makeContext(server: LabServer, log: Log): ServerRun {
  const dir = serverDir(server);
  const exited: string[] = [];
  const ctx: LabContext = {
    labDir,
    dir,
    ports,
    tls: tlsPaths,
    repoRoot,
    log: (message) => log(`${server.name}: ${message}`),
    // Servers of different areas start at once: commands that edit the account files (which take one
    // lock and fail rather than wait) run one at a time.
    exec: (command, args, options) => (ACCOUNT_COMMANDS.has(command) ? accounts.run(() => execCommand(command, args, options)) : execCommand(command, args, options)),
    writeFile(relativePath, content, mode = 0o644) {
      const path = join(dir, relativePath);
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      writeFileSync(path, content);
      chmodSync(path, mode);
      return path;
    },
    spawnDaemon: (spec) => spawnDaemon(server, spec, exited),
    unpacked: unpackedRoot,
  };
  return { ctx, exited };
}

async function spawnDaemon(server: LabServer, spec: DaemonSpec, exited: string[]): Promise<number> {
  const id = spec.label ? `${server.name}.${spec.label}` : server.name;
  const dir = serverDir(server);
  const logPath = join(dir, `${spec.label ?? server.name}.log`);
  const out = openSync(logPath, 'a');
  writeFileSync(out, `--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? dir,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new LabError(`${id}: cannot start ${spec.command}: ${error.message}`)));
  });
  const pid = child.pid as number;
  child.once('exit', (code, signal) => exited.push(`${id} (pid ${pid}) exited with ${code ?? signal}`));
  child.unref();
  const startTime = procStartTime(pid);
  if (startTime === null) throw new LabError(`${id}: ${spec.command} exited at once`);
  const record: PidRecord = { pid, startTime, command: spec.command, args: spec.args };
  writeFileSync(join(runDir, `${id}.pid`), `${JSON.stringify(record)}\n`);
  return pid;
}

// Health

async function checkHealth(server: LabServer, ctx: LabContext): Promise<string | null> {
  try {
    await server.health(ctx);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function waitHealthy(server: LabServer, run: ServerRun): Promise<void> {
  const limitMs = server.startTimeoutMs ?? startTimeoutMs;
  const deadline = Date.now() + limitMs;
  let problem: string | null = 'not checked';
  while (Date.now() < deadline) {
    problem = await checkHealth(server, run.ctx);
    if (problem === null) return;
    if (run.exited.length > 0) {
      await sleep(200);
      problem = `${run.exited.join('; ')}; last check: ${problem}`;
      break;
    }
    await sleep(250);
  }
  throw new LabError(`${server.name} did not come up within ${limitMs / 1000} s: ${problem}\n${logTails(server)}`);
}

function logFiles(dir: string, depth = 2): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) found.push(...logFiles(path, depth - 1));
    else if (entry.isFile() && entry.name.endsWith('.log')) found.push(path);
  }
  return found;
}

function readTail(path: string, maxBytes = 8192): string {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function logTails(server: LabServer, lines = 25): string {
  const files = logFiles(serverDir(server));
  if (files.length === 0) return `(no log files under ${serverDir(server)})`;
  return files.map((path) => `--- tail of ${path}\n${tail(readTail(path), lines)}`).join('\n');
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The kernel's range of local ports for outgoing connections (Linux's default when it cannot be read). */
function localPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

// Commands of the CLI and of ensureLab

export interface StartOptions {
  log?: Log;
  /** Start afresh the servers that say why they must be (LabServer.freshEachRun): the CLI's `start` does. */
  fresh?: boolean;
}

export async function startLab(areas: readonly string[] = [], options: StartOptions = {}): Promise<void> {
  const log = options.log ?? ((message: string) => console.error(`[lab] ${message}`));
  const duplicates = duplicatePorts();
  if (duplicates.length > 0) throw new LabError(`lab/ports.json lists a port twice: ${duplicates.join('; ')}`);
  const [low, high] = localPortRange();
  const ephemeral = portsInRange(low, high);
  if (ephemeral.length > 0) {
    throw new LabError(`lab/ports.json: ${ephemeral.join(', ')} inside this machine's local port range ${low}-${high}, where outgoing connections may hold them`);
  }
  const servers = await loadServers(areas);
  mkdirSync(labDir, { recursive: true, mode: 0o755 });
  chmodSync(labDir, 0o755);
  await withLock(async () => {
    const runs = new Map(servers.map((server) => [server, makeContext(server, log)]));
    const pending: LabServer[] = [];
    await Promise.all(
      servers.map(async (server) => {
        if ((await checkHealth(server, runs.get(server)!.ctx)) !== null) pending.push(server);
        else if (!startedFromCurrent(server)) {
          log(`restarting ${server.name}: it was started from another definition`);
          pending.push(server);
        } else if (options.fresh && server.freshEachRun) {
          log(`restarting ${server.name}: ${server.freshEachRun}`);
          pending.push(server);
        }
      }),
    );
    if (pending.length === 0) {
      log(`all ${servers.length} servers healthy`);
      return;
    }
    await installPackages(pending.flatMap((server) => server.packages), log);
    await unpackPackages(pending.flatMap((server) => server.unpacked ?? []), log);
    await ensureTls(log);
    const failures: string[] = [];
    const startOne = async (server: LabServer): Promise<void> => {
      const run = runs.get(server)!;
      try {
        await stopServer(server.name, log);
        // A stopped server's children may hold its ports a moment longer (chromium's do).
        let busy: number[] = [];
        for (let i = 0; i < 50; i++) {
          busy = [];
          for (const port of server.ports) if (await isListening(port)) busy.push(port);
          if (busy.length === 0) break;
          await sleep(100);
        }
        if (busy.length > 0) {
          throw new LabError(`${server.name}: port ${busy.join(', ')} already in use by a process the lab did not start (see: ss -ltnp)`);
        }
        mkdirSync(run.ctx.dir, { recursive: true, mode: 0o755 });
        chmodSync(run.ctx.dir, 0o755);
        removeStaleRuntimeFiles(run.ctx.dir);
        log(`starting ${server.name} on ${server.ports.join(', ')}`);
        rmSync(definitionPath(server), { force: true });
        await server.start(run.ctx);
        await waitHealthy(server, run);
        mkdirSync(runDir, { recursive: true, mode: 0o755 });
        writeFileSync(definitionPath(server), `${fingerprintOf(server)}\n`);
        log(`${server.name} healthy`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`FAILED ${message.split('\n')[0]}`);
        failures.push(message);
      }
    };
    // Areas start in parallel; the servers of one area in their file's order (some wait for others), then the
    // area's `concurrent` servers together.
    const byArea = new Map<string, LabServer[]>();
    for (const server of servers.filter((candidate) => pending.includes(candidate))) byArea.set(server.area, [...(byArea.get(server.area) ?? []), server]);
    await Promise.all(
      [...byArea.values()].map(async (areaServers) => {
        for (const server of areaServers.filter((candidate) => !candidate.concurrent)) await startOne(server);
        await Promise.all(areaServers.filter((candidate) => candidate.concurrent).map(startOne));
      }),
    );
    if (failures.length > 0) throw new LabError(`${failures.length} lab server(s) failed to start:\n${failures.join('\n')}`);
  }, log);
}

export async function stopLab(areas: readonly string[] = [], options: StartOptions = {}): Promise<void> {
  const log = options.log ?? ((message: string) => console.error(`[lab] ${message}`));
  if (!existsSync(labDir)) return;
  await withLock(async () => {
    if (areas.length === 0) {
      for (const path of pidFiles()) {
        const record = await killRecorded(path);
        if (record) log(`stopped ${basename(path, '.pid')} (pid ${record.pid})`);
      }
      return;
    }
    for (const server of await loadServers(areas)) await stopServer(server.name, log);
  }, log);
}

export interface ServerStatus {
  name: string;
  area: string;
  ports: readonly number[];
  pids: number[];
  healthy: boolean;
  problem: string | null;
}

export async function labStatus(areas: readonly string[] = []): Promise<ServerStatus[]> {
  const servers = await loadServers(areas);
  return Promise.all(
    servers.map(async (server) => {
      const problem = await checkHealth(server, makeContext(server, () => {}).ctx);
      return {
        name: server.name,
        area: server.area,
        ports: server.ports,
        pids: runningRecords(server.name).map((record) => record.pid),
        healthy: problem === null,
        problem,
      };
    }),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
