// Time Protocol, RFC 868: the server sends the time as 32 bits of seconds since 1900-01-01 00:00 UTC.
import { ByteReader } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';

/** Seconds from 1900-01-01 to 1970-01-01. */
export const EPOCH_OFFSET = 2_208_988_800;

export const timeFrame: Frame<number> = (buf) => (buf.length < 4 ? undefined : { value: new ByteReader(buf).u32('time'), size: 4 });

/** Converts RFC 868 seconds to Unix milliseconds. The 32-bit count wraps in 2036; later values are read in the next era. */
export function toUnixMs(seconds: number, nowMs = Date.now()): number {
  const era0 = (seconds - EPOCH_OFFSET) * 1000;
  const era1 = era0 + 2 ** 32 * 1000;
  return Math.abs(era1 - nowMs) < Math.abs(era0 - nowMs) ? era1 : era0;
}
