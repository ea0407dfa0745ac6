// Remote-desktop lab servers: TigerVNC's Xvnc (RFB 3.8: None; VncAuth and VeNCrypt X509Vnc/X509Plain with the lab
// certificate), x11vnc on an Xvfb display, Xvfb for X11 (without and with MIT-MAGIC-COOKIE-1), and QEMU's SPICE server.
//
// How it works: every X server runs on a display number whose X11 TCP port (6000 + display) is its own port in
// ports.json, but listens only on its unix socket: an X server cannot bind one address, so socat relays
// 127.0.0.1:<port> to the socket for the X11 tests. lab/desktop/paint.py (python3-xlib) then makes a known image the
// root window's background (kept after it exits, as xsetroot does), so every test knows each pixel: labPixel(x, y).
// The benchmark's 1280×800 Xvnc is left black; the benchmark animates it with paint.py for as long as it measures.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.desktop;

/** What the desktop lab serves, for tests to assert against. */
export const desktopFacts = {
  /** Every painted screen (not the benchmark's) has this size and shows labPixel(x, y). */
  screen: { width: 400, height: 300 },
  bench: { width: 1280, height: 800 },
  /** Xvnc -desktop on the None server. */
  desktopName: 'Portolan lab desktop',
  secureDesktopName: 'Portolan secure desktop',
  /** VNC authentication password on vncSecure and x11vnc (8 characters: DES uses no more). */
  vncPassword: 'vnc-pass',
  /** VeNCrypt Plain credentials (X509Plain on vncSecure), checked by PAM against this system user. */
  plainUser: 'portolandesk',
  plainPassword: 'desk-plain-42',
  /** MIT-MAGIC-COOKIE-1 of the x11Cookie display, hex. */
  x11Cookie: '5f3c8e1a9b2d4c6e7f8091a2b3c4d5e6',
  /** X displays: the X11 TCP port is 6000 + display. */
  displays: { vnc: p.vnc - 6000, vncSecure: p.vncSecure - 6000, vncBench: p.vncBench - 6000, x11: p.x11 - 6000, x11Cookie: p.x11Cookie - 6000 },
  /** SPICE password (ticket) of the spiceTicket server. */
  spicePassword: 'spice-pass',
  /** The VM name and UUID QEMU announces on the spice (and spiceTls) server. */
  spiceName: 'portolan-lab',
  spiceUuid: '6f3c1a2b-9d8e-4f70-8a1b-2c3d4e5f6071',
};

// 16 colours for the solid blocks; the 4-colour band uses the first four.
const PALETTE: readonly (readonly [number, number, number])[] = [
  [255, 0, 0], [0, 160, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [255, 255, 255], [0, 0, 0],
  [128, 64, 0], [64, 0, 128], [0, 128, 128], [192, 192, 192], [255, 128, 0], [128, 255, 128], [32, 32, 96], [250, 200, 150],
];

/**
 * The painted screens' pixel at (x, y), as [r, g, b]. Three bands exercise every encoder path: solid 50×50 blocks
 * (fills, solid tiles, background-only hextiles), a four-colour checker of 3×3 cells (palettes, packed pixels,
 * coloured subrects), and pixels that all differ (raw tiles), with a few solid runs in between (run lengths).
 */
export function labPixel(x: number, y: number): [number, number, number] {
  if (y < 100) {
    const c = PALETTE[(Math.floor(x / 50) + Math.floor(y / 50) * 3) % 16];
    return [c[0], c[1], c[2]];
  }
  if (y < 200) {
    const c = PALETTE[(Math.floor(x / 3) + Math.floor(y / 3)) % 4];
    return [c[0], c[1], c[2]];
  }
  if (x % 64 < 8) return [20, 40, 60];
  return [(x * 7 + y * 3) & 0xff, (x * y) & 0xff, ((x ^ y) * 5) & 0xff];
}

/** The painted image as RGB bytes, width×height. */
export function labImage(width = desktopFacts.screen.width, height = desktopFacts.screen.height, pixel = labPixel): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out.set(pixel(x, y), (y * width + x) * 3);
  }
  return out;
}

/** A binary PPM (P6) of RGB pixels: what paint.py reads. */
export function ppm(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`);
  const out = new Uint8Array(head.length + rgb.length);
  out.set(head);
  out.set(rgb, head.length);
  return out;
}

/** The paint script; the benchmark runs it too. */
export const paintScript = join(import.meta.dirname, '..', 'desktop', 'paint.py');
/** Prints the key and button events reaching a display's root window (tests of a viewer's input). */
export const eventsScript = join(import.meta.dirname, '..', 'desktop', 'events.py');
/** Debian's python3, which has python3-xlib (not a pyenv one earlier on PATH). */
export const PYTHON = '/usr/bin/python3';

export async function waitForSocket(display: number, what: string): Promise<void> {
  const path = `/tmp/.X11-unix/X${display}`;
  for (let i = 0; i < 100; i++) {
    if (existsSync(path)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: no X socket ${path} after 10 s`);
}

/** Makes the lab image the root window's background on `display`. */
async function paint(ctx: LabContext, display: number, xauthority?: string): Promise<void> {
  const { width, height } = desktopFacts.screen;
  const image = ctx.writeFile('lab-image.ppm', ppm(width, height, labImage(width, height)));
  const env = [`DISPLAY=:${display}`, ...(xauthority ? [`XAUTHORITY=${xauthority}`] : [])];
  await ctx.exec('env', [...env, PYTHON, paintScript, 'still', image]);
}

/** An X server's display number is free to take: no lock file, or one left by a process that is gone. */
export function clearStaleLock(display: number): void {
  const lock = `/tmp/.X${display}-lock`;
  if (!existsSync(lock)) return;
  // The runner only calls start() when the server is not healthy: a lock of ours from an earlier run is stale.
  // Its pid may since belong to another process (pids are reused): only a live X server holds the display.
  const pid = Number(readFileSync(lock, 'utf8').trim());
  let comm = '';
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    // gone
  }
  if (/^X/.test(comm)) return;
  rmQuiet(lock);
  rmQuiet(`/tmp/.X11-unix/X${display}`);
}

function rmQuiet(path: string): void {
  rmSync(path, { force: true });
}

async function rfbHello(port: number, what: string): Promise<void> {
  const got = await exchange(port, { until: (b) => b.length >= 12 });
  expectIncludes(`${what} on ${port}`, got, 'RFB 003.00');
}

async function ensureUser(ctx: LabContext, user: string, password: string): Promise<void> {
  const exists = await ctx.exec('getent', ['passwd', user]).then(
    () => true,
    () => false,
  );
  if (!exists) await ctx.exec('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'Portolan VNC Plain user', user]);
  await ctx.exec('chpasswd', [], { input: `${user}:${password}\n` });
}

/** A VNC password file (the obfuscated form Xvnc and x11vnc read), written by x11vnc itself. */
async function vncPasswordFile(ctx: LabContext): Promise<string> {
  const file = join(ctx.dir, 'vnc.passwd');
  await ctx.exec('x11vnc', ['-storepasswd', desktopFacts.vncPassword, file]);
  return file;
}

function xvncArgs(display: number, port: number, size: { width: number; height: number }, name: string, extra: string[]): string[] {
  return [`:${display}`, '-geometry', `${size.width}x${size.height}`, '-depth', '24', '-rfbport', String(port), '-interface', '127.0.0.1', '-nolisten', 'tcp', '-noreset', '-desktop', name, '-AlwaysShared', '-AcceptSetDesktopSize=1', '-BlacklistThreshold=1000000', ...extra];
}

const xvnc: LabServer = {
  name: 'xvnc',
  area: 'desktop',
  packages: ['tigervnc-standalone-server', 'x11vnc', 'python3-xlib', 'xclip'],
  ports: [p.vnc, p.vncSecure, p.vncBench],
  async start(ctx) {
    const d = desktopFacts.displays;
    for (const n of [d.vnc, d.vncSecure, d.vncBench]) clearStaleLock(n);
    await ensureUser(ctx, desktopFacts.plainUser, desktopFacts.plainPassword);
    const passwd = await vncPasswordFile(ctx);
    await ctx.spawnDaemon({ label: 'xvnc-none', command: '/usr/bin/Xtigervnc', args: xvncArgs(d.vnc, p.vnc, desktopFacts.screen, desktopFacts.desktopName, ['-SecurityTypes', 'None']) });
    await ctx.spawnDaemon({
      label: 'xvnc-secure',
      command: '/usr/bin/Xtigervnc',
      args: xvncArgs(d.vncSecure, p.vncSecure, desktopFacts.screen, desktopFacts.secureDesktopName, [
        '-SecurityTypes', 'X509Plain,X509Vnc,VncAuth',
        '-PasswordFile', passwd,
        '-X509Cert', ctx.tls.certPath,
        '-X509Key', ctx.tls.keyPath,
        '-PlainUsers', desktopFacts.plainUser,
        '-PAMService', 'tigervnc',
      ]),
    });
    await ctx.spawnDaemon({ label: 'xvnc-bench', command: '/usr/bin/Xtigervnc', args: xvncArgs(d.vncBench, p.vncBench, desktopFacts.bench, 'Portolan bench desktop', ['-SecurityTypes', 'None']) });
    await waitForSocket(d.vnc, 'Xvnc');
    await paint(ctx, d.vnc);
    await waitForSocket(d.vncSecure, 'Xvnc (secure)');
    await paint(ctx, d.vncSecure);
  },
  async health() {
    await rfbHello(p.vnc, 'Xvnc');
    await rfbHello(p.vncSecure, 'Xvnc (secure)');
    await rfbHello(p.vncBench, 'Xvnc (bench)');
  },
};

/** The X11 connection setup of a client with no authorization (X11 protocol, chapter 8): 'l', version 11.0. */
const X11_SETUP = Uint8Array.of(0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0);

const xvfb: LabServer = {
  name: 'xvfb',
  area: 'desktop',
  packages: ['xvfb', 'xauth', 'socat', 'x11vnc', 'python3-xlib'],
  ports: [p.x11, p.x11Cookie, p.x11vnc],
  async start(ctx) {
    const d = desktopFacts.displays;
    for (const n of [d.x11, d.x11Cookie]) clearStaleLock(n);
    const screen = `${desktopFacts.screen.width}x${desktopFacts.screen.height}x24`;
    const auth = join(ctx.dir, 'cookie.xauth');
    rmQuiet(auth);
    await ctx.exec('xauth', ['-f', auth, 'add', `:${d.x11Cookie}`, 'MIT-MAGIC-COOKIE-1', desktopFacts.x11Cookie]);
    await ctx.spawnDaemon({ label: 'xvfb-open', command: '/usr/bin/Xvfb', args: [`:${d.x11}`, '-screen', '0', screen, '-nolisten', 'tcp', '-noreset', '-ac'] });
    await ctx.spawnDaemon({ label: 'xvfb-cookie', command: '/usr/bin/Xvfb', args: [`:${d.x11Cookie}`, '-screen', '0', screen, '-nolisten', 'tcp', '-noreset', '-auth', auth] });
    for (const [n, port] of [[d.x11, p.x11], [d.x11Cookie, p.x11Cookie]]) {
      await ctx.spawnDaemon({ label: `socat-${port}`, command: '/usr/bin/socat', args: [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:/tmp/.X11-unix/X${n}`] });
    }
    await waitForSocket(d.x11, 'Xvfb');
    await paint(ctx, d.x11);
    await waitForSocket(d.x11Cookie, 'Xvfb (cookie)');
    await paint(ctx, d.x11Cookie, auth);
    const passwd = await vncPasswordFile(ctx);
    await ctx.spawnDaemon({
      label: 'x11vnc',
      command: '/usr/bin/x11vnc',
      args: ['-display', `:${d.x11}`, '-rfbport', String(p.x11vnc), '-listen', '127.0.0.1', '-rfbauth', passwd, '-forever', '-shared', '-nopw', '-noxdamage', '-desktop', 'x11vnc lab', '-q'],
    });
  },
  async health() {
    for (const port of [p.x11, p.x11Cookie]) {
      const got = await exchange(port, { send: X11_SETUP, until: (b) => b.length >= 8 && b.length >= 8 + b.readUInt16LE(6) * 4 });
      // Success (1) without a cookie where access control is off; Failed (0) where the cookie is required.
      const expected = port === p.x11 ? 1 : 0;
      if (got.length < 8 || got[0] !== expected) throw new Error(`Xvfb on ${port}: connection setup without a cookie answered ${got.length ? got[0] : 'nothing'}, expected ${expected}`);
    }
    await rfbHello(p.x11vnc, 'x11vnc');
  },
};

/**
 * QEMU's SPICE server with a paused, diskless machine (-S: no guest runs, no CPU spent): a QXL display, sound in and out,
 * and the agent's port, so the channel list has display, inputs, cursor, playback, record and the main channel.
 */
function qemuArgs(spice: string, name: string, uuid: string): string[] {
  return [
    '-machine', 'pc,accel=tcg', '-S', '-m', '32', '-nodefaults', '-display', 'none', '-vga', 'none', '-monitor', 'none', '-serial', 'none',
    '-name', name, '-uuid', uuid,
    '-device', 'qxl-vga',
    '-audiodev', 'spice,id=snd0', '-device', 'intel-hda', '-device', 'hda-duplex,audiodev=snd0',
    '-device', 'virtio-serial', '-chardev', 'spicevmc,id=vdagent,name=vdagent', '-device', 'virtserialport,chardev=vdagent,name=com.redhat.spice.0',
    '-spice', spice,
  ];
}

async function spiceHello(port: number): Promise<void> {
  // SpiceLinkMess for the main channel; the reply starts with the magic "REDQ".
  const mess = Buffer.from('52454451' + '02000000' + '02000000' + '16000000' + '00000000' + '0100' + '01000000' + '00000000' + '12000000' + '00000000', 'hex');
  const got = await exchange(port, { send: mess, until: (b) => b.length >= 16 });
  expectIncludes(`SPICE on ${port}`, got, 'REDQ');
}

const spice: LabServer = {
  name: 'spice',
  area: 'desktop',
  packages: ['qemu-system-x86'],
  ports: [p.spice, p.spiceTls, p.spiceTicket],
  async start(ctx) {
    const tls = `tls-port=${p.spiceTls},x509-cert-file=${ctx.tls.certPath},x509-key-file=${ctx.tls.keyPath},x509-cacert-file=${ctx.tls.caPath}`;
    await ctx.spawnDaemon({ label: 'qemu-spice', command: '/usr/bin/qemu-system-x86_64', args: qemuArgs(`port=${p.spice},addr=127.0.0.1,disable-ticketing=on,${tls}`, desktopFacts.spiceName, desktopFacts.spiceUuid) });
    await ctx.spawnDaemon({ label: 'qemu-spice-ticket', command: '/usr/bin/qemu-system-x86_64', args: qemuArgs(`port=${p.spiceTicket},addr=127.0.0.1,password=${desktopFacts.spicePassword}`, 'portolan-ticket', '00000000-0000-4000-8000-000000000002') });
  },
  async health() {
    await spiceHello(p.spice);
    await spiceHello(p.spiceTicket);
    const got = await new Promise<boolean>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: p.spiceTls, rejectUnauthorized: false }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (!got) throw new Error(`SPICE TLS on ${p.spiceTls}: no TLS handshake`);
  },
};

export const servers: LabServer[] = [xvnc, xvfb, spice];
