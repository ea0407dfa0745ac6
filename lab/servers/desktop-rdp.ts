// RDP with Network Level Authentication: FreeRDP 2's shadow server (freerdp-shadow-cli) sharing an Xvfb display of its
// own, NLA only (/sec:nla), checking NTLM against a SAM file. It is the lab's CredSSP (MS-CSSP) server: xrdp, in the
// http area, does not offer NLA.
//
// How it works: the SAM file holds `user:domain:LMhash:NThash:::` (the NT hash is MD4 of the UTF-16LE password; an empty
// domain matches any). WinPR's NTLM names the server after the host name, so the daemon runs in a UTS namespace of its
// own (unshare --uts) with the host name the tests assert. The shadow server reads its TLS certificate and key from
// $XDG_CONFIG_HOME/freerdp/shadow/shadow.{crt,key} (it would generate a self-signed pair if they were missing): the lab
// certificate is put there, so clients trust it through the lab CA. -auth: no PAM check of the session after CredSSP.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { md4, utf16le } from '../../src/protocols/dcerpc/ntlmssp.ts';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import type { LabServer } from '../server.ts';
import { clearStaleLock, waitForSocket } from './desktop.ts';

const p = ports['desktop-rdp'];

/** What the NLA server is, for tests to assert against. */
export const rdpNlaFacts = {
  /** The host name of the shadow server's UTS namespace: NetBIOS names are it upper-cased, DNS names it as given. */
  hostname: 'portolan-nla',
  user: 'nlauser',
  password: 'nla-pass-42',
  /** The Xvfb display it shadows: the X11 TCP port would be 6000 + display (it listens on its unix socket only). */
  display: p.rdpNlaX11 - 6000,
};

/** X.224 Connection Request offering TLS alone (MS-RDPBCGR 2.2.1.1): a server requiring NLA answers HYBRID_REQUIRED_BY_SERVER. */
const RDP_TLS_ONLY = Buffer.from('030000130ee000000000000100080001000000', 'hex');

const rdpShadow: LabServer = {
  name: 'rdp-shadow',
  area: 'desktop-rdp',
  packages: ['freerdp2-shadow-x11', 'xvfb'],
  ports: [p.rdpNla],
  async start(ctx) {
    const f = rdpNlaFacts;
    clearStaleLock(f.display);
    await ctx.spawnDaemon({ label: 'xvfb', command: '/usr/bin/Xvfb', args: [`:${f.display}`, '-screen', '0', '400x300x24', '-nolisten', 'tcp', '-noreset', '-ac'] });
    await waitForSocket(f.display, 'Xvfb for the shadow server');
    const nt = Buffer.from(md4(utf16le(f.password))).toString('hex');
    const sam = ctx.writeFile('sam', `${f.user}::${'0'.repeat(32)}:${nt}:::\n`, 0o600);
    ctx.writeFile('config/freerdp/shadow/shadow.crt', readFileSync(ctx.tls.certPath));
    ctx.writeFile('config/freerdp/shadow/shadow.key', readFileSync(ctx.tls.keyPath), 0o600);
    const shadow = ['/usr/bin/freerdp-shadow-cli', '/bind-address:127.0.0.1', `/port:${p.rdpNla}`, '/sec:nla', '-auth', `/sam-file:${sam}`].join(' ');
    await ctx.spawnDaemon({
      label: 'shadow',
      command: '/usr/bin/unshare',
      args: ['--uts', '/bin/sh', '-c', `hostname ${f.hostname} && exec ${shadow}`],
      env: { DISPLAY: `:${f.display}`, HOME: ctx.dir, XDG_CONFIG_HOME: join(ctx.dir, 'config') },
    });
  },
  async health() {
    const cc = await exchange(p.rdpNla, { send: RDP_TLS_ONLY, until: (b) => b.length >= 4 && b.length >= b.readUInt16BE(2) });
    // RDP_NEG_FAILURE (type 3) with failureCode 5, HYBRID_REQUIRED_BY_SERVER: a TLS-only client is refused.
    if (cc.length < 19 || cc[11] !== 3 || cc.readUInt32LE(15) !== 5) throw new Error(`freerdp-shadow-cli on ${p.rdpNla}: a TLS-only offer should be refused with HYBRID_REQUIRED_BY_SERVER, got ${cc.toString('hex')}`);
  },
};

export const servers: LabServer[] = [rdpShadow];
