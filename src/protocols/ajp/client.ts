// AJP13 exchanges over a Conn: CPING/CPONG, and a Forward Request with its body sent in chunks as the
// container asks for them (GET_BODY_CHUNK), the response's headers and body chunks until END_RESPONSE.
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { CPING, MAX_CHUNK, containerFrame, describeMessage, encodeBodyChunk, encodeForwardRequest, type ContainerMessage, type ForwardRequest } from './codec.ts';

const frame = containerFrame();

async function next(conn: Conn): Promise<ContainerMessage> {
  return conn.readFrame(frame, 'AJP packet', describeMessage);
}

export async function cping(conn: Conn): Promise<number> {
  const t0 = performance.now();
  await conn.write(CPING, { decode: 'CPING' });
  const m = await next(conn);
  if (m.type !== 'cpong') throw new ProtocolError(`CPING answered with ${describeMessage(m)}, not CPONG`);
  return Math.round((performance.now() - t0) * 1000) / 1000;
}

export interface AjpResponse {
  status: number;
  reason: string;
  headers: [string, string][];
  body: Uint8Array;
  bodyBytes: number;
  chunks: number;
  bodyRequests: number;
  truncated: boolean;
  reuse: boolean | null;
}

export async function forward(conn: Conn, req: ForwardRequest, body: Uint8Array, maxBody: number): Promise<AjpResponse> {
  let sent = 0;
  const nextChunk = (max: number) => {
    const piece = body.subarray(sent, sent + Math.min(max, MAX_CHUNK));
    sent += piece.length;
    return encodeBodyChunk(piece);
  };
  const out = [encodeForwardRequest(req)];
  // The first body packet follows the Forward Request unasked when there is a body (AJP Protocol Reference).
  if (body.length > 0) out.push(nextChunk(MAX_CHUNK));
  await conn.write(concat(out), { decode: `Forward Request ${req.method} ${req.uri} (${req.headers.length} headers, ${req.attributes.length} attributes)${body.length ? `; first body chunk of ${sent} bytes` : ''}`, secret: req.secret !== undefined });
  let head: Extract<ContainerMessage, { type: 'headers' }> | undefined;
  const parts: Uint8Array[] = [];
  let kept = 0;
  let total = 0;
  let chunks = 0;
  let bodyRequests = 0;
  for (;;) {
    const m = await next(conn);
    if (m.type === 'headers') {
      if (head) throw new ProtocolError('a second SEND_HEADERS in one response');
      head = m;
    } else if (m.type === 'body') {
      chunks++;
      total += m.data.length;
      const room = maxBody - kept;
      if (room > 0) {
        parts.push(m.data.subarray(0, room));
        kept += Math.min(room, m.data.length);
      }
      if (total > maxBody) return result(null, true);
    } else if (m.type === 'getBody') {
      bodyRequests++;
      if (bodyRequests > 100_000) throw new ProtocolError('the container asked for body chunks without end');
      const chunk = nextChunk(m.length);
      await conn.write(chunk, { decode: `body chunk, ${chunk.length > 4 ? chunk.length - 6 : 0} bytes${chunk.length === 4 ? ' (end of body)' : ''}` });
    } else if (m.type === 'end') return result(m.reuse, false);
    else throw new ProtocolError(`unexpected ${describeMessage(m)} during a request`);
  }
  function result(reuse: boolean | null, truncated: boolean): AjpResponse {
    if (!head) throw new ProtocolError('END_RESPONSE before SEND_HEADERS');
    return { status: head.status, reason: head.reason, headers: head.headers, body: concat(parts), bodyBytes: total, chunks, bodyRequests, truncated, reuse };
  }
}
