// ADB host requests over a Conn: one service per connection, OKAY or FAIL, then the service's blocks.
import type { Conn } from '../../core/conn.ts';
import { ServerError } from '../../core/errors.ts';
import { blockFrame, encodeRequest, statusFrame } from './codec.ts';

/** Sends a host service request and waits for OKAY; FAIL is the server's own message. */
export async function request(conn: Conn, service: string): Promise<void> {
  await conn.write(encodeRequest(service), { decode: service });
  const status = await conn.readFrame(statusFrame, 'OKAY or FAIL', (s) => (s.ok ? 'OKAY' : `FAIL ${s.message}`));
  if (!status.ok) throw new ServerError(`adb server: ${status.message}`, { service });
}

/** The next hex-length block of the answer. */
export function readBlock(conn: Conn, what: string): Promise<string> {
  return conn.readFrame(blockFrame, what, (t) => `${what}: ${JSON.stringify(t.slice(0, 200))}`);
}
