// RDP connection initiation over a Conn (MS-RDPBCGR 1.3.1.1, 2.2.1.1–2.2.1.2, 5.4.5): one X.224 Connection
// Request with RDP_NEG_REQ, the Connection Confirm, and — when TLS was selected — the TLS handshake that
// follows at once on the same connection (External Security Protocol, 5.4.5.1).
import { berFrame } from '../../core/ber.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { FLAGS, NtlmSealing, SEALING_FLAGS, authenticateMessage, decodeChallenge, flagNames, negotiateMessage, type Challenge, type Credentials } from '../dcerpc/ntlmssp.ts';
import { clientBinding, decodeTsRequest, describeTsRequest, encodeTsCredentials, encodeTsRequest, errorCodeName, serverBindingMatches, type TsRequest } from './credssp.ts';
import { describeConfirm, describeRequest, decodeConnectionConfirm, decodeMcsConnectResponse, encodeConnectionRequest, encodeMcsConnectInitial, tpktFrame, type ConnectionConfirm, type ConnectionRequest, type ServerData } from './codec.ts';

export async function negotiate(conn: Conn, req: ConnectionRequest): Promise<ConnectionConfirm> {
  await conn.write(encodeConnectionRequest(req), { decode: describeRequest(req) });
  const packet = await conn.readFrame(tpktFrame, 'X.224 Connection Confirm', (p) => describeConfirm(decodeConnectionConfirm(p)));
  return decodeConnectionConfirm(packet);
}

/** Dials for an upgrade: the connection starts plain and may turn to TLS after the Confirm. */
export function dialForNegotiation(ctx: OperationContext): Promise<Conn> {
  return ctx.dial({ tls: 'starttls' });
}

/** Basic Settings Exchange (1.3.1.1, 2.2.1.3–2.2.1.4): MCS Connect Initial out, Connect Response in. */
export async function basicSettings(conn: Conn, selectedProtocol: number): Promise<ServerData> {
  await conn.write(encodeMcsConnectInitial(selectedProtocol), { decode: 'MCS Connect Initial with GCC Conference Create Request (client core, security, network data)' });
  const packet = await conn.readFrame(tpktFrame, 'MCS Connect Response', (p) => {
    const d = decodeMcsConnectResponse(p);
    return `MCS Connect Response ${d.resultName}${d.versionName ? `, server ${d.versionName}` : ''} [${d.blocks.map((b) => b.type).join(', ')}]`;
  });
  return decodeMcsConnectResponse(packet);
}

// CredSSP (MS-CSSP 3.1.5) over the TLS the negotiation selected with HYBRID: TSRequests framed as one DER value each,
// NTLM inside (MS-NLMP), the server's public key bound into pubKeyAuth.

export function describeNtlm(token: Uint8Array): string {
  const dv = new DataView(token.buffer, token.byteOffset, token.length);
  const type = token.length >= 12 ? dv.getUint32(8, true) : 0;
  const names: Record<number, string> = { 1: 'NTLM NEGOTIATE', 2: 'NTLM CHALLENGE', 3: 'NTLM AUTHENTICATE' };
  const flagsAt = type === 1 ? 12 : type === 2 ? 20 : -1;
  const flags = flagsAt > 0 && token.length >= flagsAt + 4 ? ` flags 0x${dv.getUint32(flagsAt, true).toString(16).padStart(8, '0')}` : '';
  return `${names[type] ?? `token of ${token.length} bytes`}${flags}`;
}

async function sendTsRequest(conn: Conn, r: TsRequest, secret = false): Promise<void> {
  await conn.write(encodeTsRequest(r), { decode: describeTsRequest(r, describeNtlm), secret });
}

async function readTsRequest(conn: Conn, what: string): Promise<TsRequest> {
  const tlv = await conn.readFrame(berFrame(MAX_TSREQUEST), what, (t) => describeTsRequest(decodeTsRequest(t.raw), describeNtlm));
  return decodeTsRequest(tlv.raw);
}

const MAX_TSREQUEST = 64 * 1024;

export interface CredsspStart {
  /** The version we announced, and the server's. */
  version: number;
  serverVersion: number;
  negotiate: Uint8Array;
  challengeRaw: Uint8Array;
  challenge: Challenge;
}

/** A TSRequest errorCode: refused credentials are auth_failed, a refusal before them the server's error. */
function serverRefused(r: TsRequest, stage: 'the NTLM NEGOTIATE' | 'the credentials'): PortolanError {
  const name = errorCodeName(r.errorCode!);
  const detail = { errorCode: r.errorCode, errorName: name, serverVersion: r.version };
  const message = `the server refused ${stage}: ${name}`;
  return stage === 'the credentials' ? new AuthError(message, detail) : new ServerError(message, detail);
}

/** The first round: TSRequest with NTLM NEGOTIATE out, the server's TSRequest with CHALLENGE in. */
export async function credsspStart(conn: Conn, version: number): Promise<CredsspStart> {
  const negotiate = negotiateMessage(SEALING_FLAGS);
  await sendTsRequest(conn, { version, negoTokens: [negotiate] });
  const answer = await readTsRequest(conn, 'TSRequest with the NTLM CHALLENGE');
  if (answer.errorCode !== undefined) throw serverRefused(answer, 'the NTLM NEGOTIATE');
  const challengeRaw = answer.negoTokens[0];
  if (!challengeRaw) throw new ProtocolError('the server\'s TSRequest carries no negoToken (expected an NTLM CHALLENGE)');
  return { version, serverVersion: answer.version, negotiate, challengeRaw, challenge: decodeChallenge(challengeRaw) };
}

export interface CredsspResult {
  /** The TSRequest version both sides use: the lower of the two announced. */
  version: number;
  mic: boolean;
  keyExchange: boolean;
  pubKeyAuthVerified: boolean;
  binding: 'sha256-nonce' | 'public-key';
}

/**
 * The rest of 3.1.5: NTLM AUTHENTICATE with pubKeyAuth (and clientNonce from version 5), the server's pubKeyAuth
 * checked, then the sealed TSCredentials. A server that refuses answers with errorCode or closes the connection.
 */
export async function credsspAuthenticate(ctx: OperationContext, conn: Conn, start: CredsspStart, creds: Credentials, publicKey: Uint8Array): Promise<CredsspResult> {
  const version = Math.min(start.version, start.serverVersion);
  const { challenge } = start;
  if (!(challenge.flags & FLAGS.keyExchange) || !(challenge.flags & FLAGS.seal)) {
    throw new ProtocolError(`the server's NTLM CHALLENGE does not grant sealing with key exchange (flags ${flagNames(challenge.flags).join(', ')}), which CredSSP needs`);
  }
  const auth = authenticateMessage(ctx.crypto, creds, challenge, Date.now(), undefined, { flags: SEALING_FLAGS, negotiate: start.negotiate, challenge: start.challengeRaw });
  const sealing = new NtlmSealing(ctx.crypto, auth.exportedSessionKey);
  const nonce = version >= 5 ? ctx.crypto.randomBytes(32) : undefined;
  const pubKeyAuth = sealing.seal(await clientBinding(ctx.crypto, version, publicKey, nonce));
  // The NTLMv2 response can be attacked offline: its bytes stay out of the transcript, its description stays.
  await sendTsRequest(conn, { version, negoTokens: [auth.message], pubKeyAuth, clientNonce: nonce }, true);
  let answer: TsRequest;
  try {
    answer = await readTsRequest(conn, "TSRequest with the server's pubKeyAuth");
  } catch (e) {
    if (e instanceof PortolanError && e.code === 'closed') {
      throw new AuthError('the server closed the connection after the NTLM AUTHENTICATE without a TSRequest errorCode: it did not accept the credentials', { errorName: null, closedAfter: 'AUTHENTICATE' });
    }
    throw e;
  }
  if (answer.errorCode !== undefined) throw serverRefused(answer, 'the credentials');
  if (!answer.pubKeyAuth) throw new ProtocolError("the server's TSRequest after AUTHENTICATE carries no pubKeyAuth");
  const got = sealing.unseal(answer.pubKeyAuth, "the server's pubKeyAuth");
  if (!(await serverBindingMatches(ctx.crypto, version, publicKey, nonce, got))) {
    throw new PortolanError('untrusted_peer', "the server's pubKeyAuth does not match the public key of the TLS certificate it presented: possible man in the middle (the credentials were not sent)", { version });
  }
  await sendTsRequest(conn, { version, negoTokens: [], authInfo: sealing.seal(encodeTsCredentials(creds)) }, true);
  return { version, mic: auth.mic, keyExchange: true, pubKeyAuthVerified: true, binding: version >= 5 ? 'sha256-nonce' : 'public-key' };
}

/** HYBRID_EX (MS-RDPBCGR 2.2.10.2): the Early User Authorization Result PDU after the credentials. */
export async function earlyUserAuthorization(conn: Conn): Promise<number> {
  const b = await conn.readExact(4, 'Early User Authorization Result');
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}
