// The shape of a lab server definition and the context the runner hands it.
import type { LabPorts } from './ports.ts';

export interface TlsPaths {
  /** PEM certificate of the lab's test CA. */
  caPath: string;
  /** PEM server certificate, CN=localhost, SANs DNS:localhost, IP:127.0.0.1, IP:::1, signed by the CA. */
  certPath: string;
  /** PEM private key of the server certificate (world-readable: it is a test key). */
  keyPath: string;
}

export interface DaemonSpec {
  /** Distinguishes several daemons of one server; names the pid file and the log. */
  label?: string;
  command: string;
  args: readonly string[];
  /** Defaults to the server's state dir. */
  cwd?: string;
  env?: Record<string, string>;
}

export interface ExecOptions {
  input?: string;
  cwd?: string;
}

export interface LabContext {
  /** Root of the lab state (default /tmp/portolan-lab, env PORTOLAN_LAB_DIR). */
  labDir: string;
  /** This server's own directory, <labDir>/<name>, mode 0755, created before start(). */
  dir: string;
  ports: LabPorts;
  tls: TlsPaths;
  /** The repository root (the parent of lab/). */
  repoRoot: string;
  /** Starts a long-running process in its own process group, logging to <dir>/<label|name>.log, and records its pid. */
  spawnDaemon(spec: DaemonSpec): Promise<number>;
  /** Runs a command to completion; throws with its output when it exits non-zero. Resolves to stdout. */
  exec(command: string, args: readonly string[], options?: ExecOptions): Promise<string>;
  /** Writes a file under dir (mode 0644 unless given) and returns its absolute path. */
  writeFile(relativePath: string, content: string | Uint8Array, mode?: number): string;
  log(message: string): void;
  /** The root a package listed in `unpacked` was extracted to: binaries are at unpacked(name) + '/usr/sbin/...'. */
  unpacked(name: string): string;
}

export interface LabServer {
  /** Unique across the lab: names the state dir, pid files and logs. */
  name: string;
  /** The file under lab/servers/ that defines it, and the block of ports.json it uses. */
  area: string;
  /** Debian packages that must be installed before start(). */
  packages: readonly string[];
  /**
   * Debian packages that conflict with another lab package (Conflicts: ftp-server, say), so they cannot
   * both be installed, or whose maintainer scripts would start a daemon on the machine's own interfaces:
   * the lab unpacks each under ctx.unpacked(name), runs none of its scripts, and installs its dependencies.
   */
  unpacked?: readonly string[];
  /**
   * Starts beside the other concurrent servers, after the serial ones: for slow starters (a JVM, Jupyter, R,
   * Chromium) that depend on no other server.
   */
  concurrent?: boolean;
  /**
   * How long start() plus the health check may take, when a server needs longer than the lab's 20 s
   * (a JVM or an Erlang release booting its plugins); each such server says why where it sets it.
   */
  startTimeoutMs?: number;
  /**
   * Why `lab start` (the test run's lab phase) starts this server afresh even when it is healthy; ensureLab keeps
   * a healthy one running, since test files share it. For a server that misbehaves after serving an earlier run.
   */
  freshEachRun?: string;
  /** Ports the server listens on (127.0.0.1). */
  ports: readonly number[];
  /** Writes configuration under ctx.dir and starts the daemons with ctx.spawnDaemon. */
  start(ctx: LabContext): Promise<void>;
  /** Resolves when every port answers at protocol level; throws saying what is wrong otherwise. */
  health(ctx: LabContext): Promise<void>;
}

