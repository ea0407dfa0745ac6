// uwsgi request over a Conn: the packet with the vars, the body, then the application's HTTP response,
// delimited by Content-Length or by the server closing the connection (what uWSGI does after a response).
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { classify } from '../../core/errors.ts';
import { describeHead, responseBodyLength, responseHeadFrame, type ResponseHead } from '../http/codec.ts';
import { MODIFIER_WSGI, encodePacket, encodeVars } from './codec.ts';

export interface UwsgiResponse {
  head: Omit<ResponseHead, 'raw'>;
  body: Uint8Array;
  bodyBytes: number;
  truncated: boolean;
  framing: string;
  varsBytes: number;
}

export async function uwsgiRequest(conn: Conn, vars: [string, string][], body: Uint8Array, method: string, maxBody: number): Promise<UwsgiResponse> {
  const data = encodeVars(vars);
  await conn.write(encodePacket({ modifier1: MODIFIER_WSGI, modifier2: 0, data }), { decode: `uwsgi packet: modifier1 0, ${vars.length} vars, ${data.length} bytes` });
  if (body.length) await conn.write(body, { decode: `request body, ${body.length} bytes` });
  const h = await conn.readFrame(responseHeadFrame(), 'HTTP response head', describeHead);
  const { raw: _raw, ...head } = h;
  const framing = responseBodyLength(head, method);
  const parts: Uint8Array[] = [];
  let kept = 0;
  let total = 0;
  let truncated = false;
  const take = (piece: Uint8Array) => {
    total += piece.length;
    const room = maxBody - kept;
    if (room > 0) {
      parts.push(piece.subarray(0, room));
      kept += Math.min(room, piece.length);
    }
    if (total > maxBody) truncated = true;
  };
  if (framing.kind === 'length') {
    let left = framing.length;
    while (left > 0 && !truncated) {
      const piece = await conn.readExact(Math.min(left, 64 * 1024), 'response body');
      take(piece);
      left -= piece.length;
    }
  } else if (framing.kind !== 'none') {
    // uWSGI ends a response without Content-Length by closing the connection.
    while (!truncated) {
      let piece: Uint8Array | null;
      try {
        piece = await conn.read(64 * 1024);
      } catch (e) {
        if (classify(e).code === 'closed') break;
        throw e;
      }
      if (piece === null) break;
      take(piece);
    }
  }
  return { head, body: concat(parts), bodyBytes: total, truncated, framing: framing.kind, varsBytes: data.length };
}
