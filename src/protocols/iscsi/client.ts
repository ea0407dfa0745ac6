// A thin iSCSI initiator over Conn: login through the security stage (CHAP or none) and the operational stage to
// the full feature phase, then SendTargets or SCSI commands one at a time, and logout.
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { ByteSink } from '../../core/files.ts';
import {
  encodeLogin,
  encodeLogout,
  encodeScsiCommand,
  encodeText,
  loginStatusText,
  OP,
  opName,
  parseDataIn,
  parseLoginResponse,
  parseKeys,
  parseScsiResponse,
  parseSense,
  pduFrame,
  STAGE,
  type LoginResponse,
  type Pdu,
} from './codec.ts';

/** The data segment we accept per PDU (MaxRecvDataSegmentLength). */
export const MAX_RECV = 256 * 1024;
/** Most login round trips before giving up on a target that never moves on. */
const MAX_LOGIN_STEPS = 8;
/** Longest CHAP challenge accepted (bytes). */
const MAX_CHALLENGE = 1024;

export interface Chap {
  username: string;
  secret: string;
}

export class ScsiError extends ServerError {}

export class IscsiClient {
  private itt = 1;
  private cmdSn = 1;
  private expStatSn = 0;
  readonly isid = new Uint8Array([0x80, 0x50, 0x4f, 0x52, 0x54, 0x4f]);
  tsih = 0;
  /** What the target said in login, by key (the last word wins). */
  readonly negotiated = new Map<string, string>();
  authMethod = 'None';
  maxBurst = 256 * 1024;

  constructor(
    readonly conn: Conn,
    readonly crypto: CryptoPort,
  ) {}

  private nextItt(): number {
    this.itt = (this.itt + 1) >>> 0;
    return this.itt;
  }

  private async readPdu(what: string): Promise<Pdu> {
    for (;;) {
      const p = await this.conn.readFrame(pduFrame(MAX_RECV + 64 * 1024), what, (v) => `${opName(v.opcode)}${v.final ? ' F' : ''}, ${v.dataLength} data bytes`);
      if (p.opcode === OP.NOP_IN || p.opcode === OP.ASYNC) continue;
      if (p.opcode === OP.REJECT) throw new ProtocolError(`iSCSI: the target rejected our PDU (reason 0x${p.b2.toString(16)})`);
      return p;
    }
  }

  private async loginStep(keys: [string, string][], csg: number, nsg: number, transit: boolean, target: string, secretKeys = false): Promise<LoginResponse> {
    const itt = this.itt;
    await this.conn.write(encodeLogin({ transit, csg, nsg, isid: this.isid, tsih: this.tsih, itt, cid: 0, cmdSn: this.cmdSn, expStatSn: this.expStatSn, keys }), {
      decode: `Login ${['security', 'operational', '', 'full feature'][csg]} → ${['security', 'operational', '', 'full feature'][nsg]}${transit ? ' (T)' : ''}: ${keys.map(([k, v]) => (secretKeys && k === 'CHAP_R' ? `${k}=…` : `${k}=${v}`)).join(' ')}`,
      secret: secretKeys,
    });
    const r = parseLoginResponse(await this.readPdu('login response'));
    this.expStatSn = (r.statSn + 1) >>> 0;
    this.cmdSn = r.expCmdSn;
    if (r.statusClass !== 0) {
      const words = `iSCSI login to ${target}: ${loginStatusText(r.statusClass, r.statusDetail)}`;
      if (r.statusClass === 2 && (r.statusDetail === 1 || r.statusDetail === 2)) throw new AuthError(words, { statusClass: r.statusClass, statusDetail: r.statusDetail });
      throw new ServerError(words, { statusClass: r.statusClass, statusDetail: r.statusDetail });
    }
    for (const [k, v] of r.keys) this.negotiated.set(k, v);
    this.tsih = r.tsih;
    return r;
  }

  private async first(...args: Parameters<IscsiClient['loginStep']>): Promise<LoginResponse> {
    try {
      return await this.loginStep(...args);
    } catch (e) {
      if (e instanceof PortolanError && e.code === 'closed') throw new ServerError(`iSCSI login to ${args[4]}: the target closed the connection at our first login request (a target name it does not know, or an initiator it refuses)`);
      throw e;
    }
  }

  /** Logs in to a discovery session (no target) or a normal session of `target`, with CHAP when given. */
  async login(o: { initiator: string; target: string | null; chap: Chap | null }): Promise<void> {
    const name = o.target ?? 'discovery';
    const session: [string, string][] = [
      ['InitiatorName', o.initiator],
      ['SessionType', o.target ? 'Normal' : 'Discovery'],
      ...(o.target ? ([['TargetName', o.target]] as [string, string][]) : []),
    ];
    // Security stage: offer CHAP (when we have a secret) and None; the target picks. tgt closes on a target it
    // does not know, without a login status.
    let r = await this.first([...session, ['AuthMethod', o.chap ? 'CHAP,None' : 'None']], STAGE.SECURITY, STAGE.OPERATIONAL, !o.chap, name);
    this.authMethod = this.negotiated.get('AuthMethod') ?? 'None';
    if (this.authMethod === 'Reject' || this.authMethod === 'NotUnderstood')
      throw new AuthError(`iSCSI login to ${name}: the target answered AuthMethod=${this.authMethod}${o.chap ? '' : ' to AuthMethod=None (it requires CHAP: give username and password)'}`);
    if (this.authMethod === 'CHAP') {
      if (!o.chap) throw new AuthError(`iSCSI login to ${name}: the target requires CHAP (give username and secret)`);
      r = await this.loginStep([['CHAP_A', '5']], STAGE.SECURITY, STAGE.OPERATIONAL, false, name);
      const id = Number(this.negotiated.get('CHAP_I'));
      const challengeHex = this.negotiated.get('CHAP_C') ?? '';
      if (this.negotiated.get('CHAP_A') !== '5' || !Number.isInteger(id) || id < 0 || id > 255 || !/^0x[0-9a-fA-F]+$/.test(challengeHex) || challengeHex.length > 2 + 2 * MAX_CHALLENGE)
        throw new ProtocolError(`iSCSI: a CHAP challenge without CHAP_A=5, CHAP_I and CHAP_C (got ${[...this.negotiated].filter(([k]) => k.startsWith('CHAP')).map(([k, v]) => `${k}=${v.slice(0, 40)}`).join(' ')})`);
      const challenge = fromHex(challengeHex.slice(2).length % 2 ? `0${challengeHex.slice(2)}` : challengeHex.slice(2));
      const response = this.crypto.md5(concat([new Uint8Array([id]), utf8(o.chap.secret), challenge]));
      try {
        r = await this.loginStep(
          [
            ['CHAP_N', o.chap.username],
            ['CHAP_R', `0x${toHex(response)}`],
          ],
          STAGE.SECURITY,
          STAGE.OPERATIONAL,
          true,
          name,
          true,
        );
      } catch (e) {
        // tgt answers a wrong name or secret by closing the connection, without a login status.
        if (e instanceof PortolanError && e.code === 'closed') throw new AuthError(`iSCSI login to ${name}: the target closed the connection after our CHAP response (a wrong name or secret)`);
        throw e;
      }
      // tgt answers a wrong name or secret with a login response that does not move on (then closes).
      if (!r.transit) throw new AuthError(`iSCSI login to ${name}: the target did not accept our CHAP response (a wrong name or secret)`);
    }
    for (let step = 0; r.csg === STAGE.SECURITY && !(r.transit && r.nsg !== STAGE.SECURITY); step++) {
      if (step >= MAX_LOGIN_STEPS) throw new ProtocolError(`iSCSI login to ${name}: the target stays in the security stage`);
      r = await this.loginStep([], STAGE.SECURITY, STAGE.OPERATIONAL, true, name);
    }
    if (r.transit && r.nsg === STAGE.FULL) return;
    // Operational stage: no digests, our receive size, the plain defaults of error recovery level 0.
    const operational: [string, string][] = [
      ['HeaderDigest', 'None'],
      ['DataDigest', 'None'],
      ['MaxRecvDataSegmentLength', String(MAX_RECV)],
      ...(o.target
        ? ([
            ['InitialR2T', 'Yes'],
            ['ImmediateData', 'No'],
            ['MaxBurstLength', String(this.maxBurst)],
            ['FirstBurstLength', String(64 * 1024)],
            ['MaxOutstandingR2T', '1'],
            ['MaxConnections', '1'],
            ['DataPDUInOrder', 'Yes'],
            ['DataSequenceInOrder', 'Yes'],
            ['ErrorRecoveryLevel', '0'],
            ['DefaultTime2Wait', '0'],
            ['DefaultTime2Retain', '0'],
          ] as [string, string][])
        : []),
    ];
    r = await this.loginStep(operational, STAGE.OPERATIONAL, STAGE.FULL, true, name);
    for (let step = 0; !(r.transit && r.nsg === STAGE.FULL); step++) {
      if (step >= MAX_LOGIN_STEPS) throw new ProtocolError(`iSCSI login to ${name}: the target never moved to the full feature phase`);
      r = await this.loginStep([], STAGE.OPERATIONAL, STAGE.FULL, true, name);
    }
    const burst = Number(this.negotiated.get('MaxBurstLength'));
    if (Number.isInteger(burst) && burst > 0) this.maxBurst = Math.min(burst, this.maxBurst);
  }

  /** Text request SendTargets=All: each target with its addresses (portal, group tag). */
  async sendTargets(): Promise<{ name: string; addresses: string[] }[]> {
    const itt = this.nextItt();
    await this.conn.write(encodeText(itt, this.cmdSn, this.expStatSn, [['SendTargets', 'All']]), { decode: 'Text SendTargets=All' });
    const p = await this.readPdu('text response');
    if (p.opcode !== OP.TEXT_RSP) throw new ProtocolError(`iSCSI: ${opName(p.opcode)} in answer to a text request`);
    if (!p.final) throw new ProtocolError('iSCSI: a SendTargets answer in several text PDUs (continuation is not supported)');
    this.expStatSn = (new DataView(p.rest.buffer, p.rest.byteOffset).getUint32(4) + 1) >>> 0;
    const out: { name: string; addresses: string[] }[] = [];
    for (const [k, v] of parseKeys(p.data)) {
      if (k === 'TargetName') out.push({ name: v, addresses: [] });
      else if (k === 'TargetAddress' && out.length > 0) out[out.length - 1].addresses.push(v);
    }
    return out;
  }

  /**
   * A SCSI command that reads up to `length` bytes: its Data-In PDUs go to `sink` in order, and its status
   * (in the last Data-In or a SCSI Response) must be GOOD; CHECK CONDITION names the sense key.
   */
  async command(lun: Uint8Array, cdb: Uint8Array, length: number, what: string, sink?: ByteSink): Promise<{ bytes: number; residual: number }> {
    const itt = this.nextItt();
    await this.conn.write(encodeScsiCommand({ itt, lun, cmdSn: this.cmdSn, expStatSn: this.expStatSn, cdb, readLength: length }), { decode: `SCSI ${what} (CDB ${toHex(cdb)}), ${length} bytes` });
    this.cmdSn = (this.cmdSn + 1) >>> 0;
    let got = 0;
    for (;;) {
      const p = await this.readPdu(`${what} answer`);
      if (p.itt !== itt) throw new ProtocolError(`iSCSI: an answer for task ${p.itt} while task ${itt} runs`);
      if (p.opcode === OP.DATA_IN) {
        const d = parseDataIn(p);
        if (d.offset !== got) throw new ProtocolError(`iSCSI: Data-In at offset ${d.offset} where ${got} was expected`);
        if (got + p.data.length > length) throw new ProtocolError(`iSCSI: Data-In past the ${length} bytes asked`);
        got += p.data.length;
        if (p.data.length > 0) await sink?.write(p.data);
        if (d.status) {
          this.expStatSn = (d.statSn + 1) >>> 0;
          if (d.statusCode !== 0) throw new ScsiError(`SCSI ${what}: status 0x${d.statusCode.toString(16)}`);
          return { bytes: got, residual: d.residualUnderflow ? d.residual : 0 };
        }
        continue;
      }
      if (p.opcode === OP.SCSI_RSP) {
        const r = parseScsiResponse(p);
        this.expStatSn = (r.statSn + 1) >>> 0;
        if (r.response !== 0) throw new ScsiError(`SCSI ${what}: the target failed the command (response 0x${r.response.toString(16)})`);
        if (r.status !== 0) {
          const sense = r.sense ? parseSense(r.sense) : null;
          const detail = sense ? `: ${sense.key}, ASC 0x${sense.asc.toString(16).padStart(2, '0')} ASCQ 0x${sense.ascq.toString(16).padStart(2, '0')}` : '';
          throw new ScsiError(`SCSI ${what}: ${r.status === 2 ? 'CHECK CONDITION' : `status 0x${r.status.toString(16)}`}${detail}`, { status: r.status, sense });
        }
        return { bytes: got, residual: r.residual };
      }
      throw new ProtocolError(`iSCSI: ${opName(p.opcode)} in answer to a SCSI command`);
    }
  }

  /**
   * TEST UNIT READY until the LUN has no UNIT ATTENTION to report (a target reports one, "power on or reset", to
   * the first command of a new session that is not INQUIRY or REPORT LUNS).
   */
  async testUnitReady(lun: Uint8Array): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.command(lun, new Uint8Array(6), 0, 'TEST UNIT READY');
        return;
      } catch (e) {
        if (!(e instanceof ScsiError) || !/UNIT ATTENTION/.test(e.message) || i >= 3) throw e;
      }
    }
  }

  async logout(): Promise<void> {
    await this.conn.write(encodeLogout(this.nextItt(), this.cmdSn, this.expStatSn), { decode: 'Logout (close the session)' });
    await this.readPdu('logout response').catch(() => undefined);
  }
}
