// The ADB host protocol (AOSP packages/modules/adb, SERVICES.TXT and OVERVIEW.TXT): a request is four hex
// digits of length and the service name ("host:version"); the server answers OKAY or FAIL, FAIL with a
// hex-length message; answers with data are hex-length blocks, and track-devices sends one per change.
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** Requests are at most 1024 bytes (adb's MAX_PAYLOAD for host requests is far larger; services are short). */
export const MAX_REQUEST = 1024;
/** Longest hex-length block we accept: four hex digits allow 65535. */
export const MAX_BLOCK = 0xffff;

export function encodeRequest(service: string): Uint8Array {
  const body = utf8(service);
  if (body.length > MAX_REQUEST) throw new ProtocolError(`adb request of ${body.length} bytes (at most ${MAX_REQUEST})`);
  return utf8(body.length.toString(16).padStart(4, '0') + service);
}

function hexLength(buf: Uint8Array, field: string): number {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const c = buf[i];
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) throw new ProtocolError(`${field}: ${JSON.stringify(fromUtf8(buf.subarray(0, 4)))} is not four hex digits`);
    n = n * 16 + d;
  }
  return n;
}

/** Four hex digits of length, then that many bytes of text. */
export const blockFrame: Frame<string> = (buf) => {
  if (buf.length < 4) return undefined;
  const n = hexLength(buf, 'block length');
  if (buf.length < 4 + n) return undefined;
  return { value: fromUtf8(buf.subarray(4, 4 + n)), size: 4 + n };
};

export type Status = { ok: true } | { ok: false; message: string };

/** OKAY, or FAIL followed by a hex-length message. */
export const statusFrame: Frame<Status> = (buf) => {
  if (buf.length < 4) return undefined;
  const word = fromUtf8(buf.subarray(0, 4));
  if (word === 'OKAY') return { value: { ok: true }, size: 4 };
  if (word !== 'FAIL') throw new ProtocolError(`adb status ${JSON.stringify(word)} is neither OKAY nor FAIL`);
  const block = blockFrame(buf.subarray(4));
  return block ? { value: { ok: false, message: block.value }, size: 4 + block.size } : undefined;
};

export interface Device {
  serial: string;
  state: string;
  /** devices -l: product, model, device, transport_id and any other key:value. */
  properties: Record<string, string>;
  /** devices -l: usb:... or other words without a key. */
  extra: string[];
}

/** The device list of host:devices(-l) and track-devices: one device a line, serial, state, then key:value words. */
export function parseDevices(text: string): Device[] {
  const devices: Device[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const words = line.trim().split(/\s+/);
    const [serial, state = 'unknown', ...rest] = words;
    const properties: Record<string, string> = {};
    const extra: string[] = [];
    for (const w of rest) {
      const at = w.indexOf(':');
      if (at > 0) properties[w.slice(0, at)] = w.slice(at + 1);
      else extra.push(w);
    }
    devices.push({ serial, state, properties, extra });
  }
  return devices;
}
