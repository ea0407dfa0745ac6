// Docker Engine API streams (Docker Engine API v1.41, "Attach to a container" / "Get container logs"): the
// multiplexed stdout/stderr stream of a container without a TTY, frame by frame.
//
// How it works: each frame is an 8-byte header, STREAM_TYPE (0 stdin, 1 stdout, 2 stderr), three zero bytes
// and a 32-bit big-endian size, then that many bytes of output. A container with a TTY sends raw bytes instead.
import { ByteReader, concat } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type StreamName = 'stdin' | 'stdout' | 'stderr';
const NAMES: StreamName[] = ['stdin', 'stdout', 'stderr'];

export interface StreamFrame {
  stream: StreamName;
  data: Uint8Array;
}

/** One frame; a size above `max` is a protocol error (no allocation from an untrusted length). */
export function streamFrame(max = 16 * 1024 * 1024): Frame<StreamFrame> {
  return (buf) => {
    if (buf.length >= 1 && buf[0] > 2) throw new ProtocolError(`multiplexed stream type ${buf[0]} (0, 1 or 2 expected): the stream is not multiplexed (a TTY?)`);
    if (buf.length < 8) return undefined;
    if (buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) throw new ProtocolError('multiplexed stream header bytes 1–3 are not zero');
    const size = new ByteReader(buf, 4).u32('frame size');
    if (size > max) throw new ProtocolError(`multiplexed stream frame of ${size} bytes exceeds the ${max}-byte limit`);
    if (buf.length < 8 + size) return undefined;
    return { value: { stream: NAMES[buf[0]], data: buf.slice(8, 8 + size) }, size: 8 + size };
  };
}

export interface Demuxed {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The output in arrival order, one entry per frame. */
  frames: { stream: StreamName; bytes: number }[];
  /** Bytes after the last whole frame (a cut stream). */
  trailing: number;
}

/** Splits a whole multiplexed body into stdout and stderr. */
export function demultiplex(body: Uint8Array, maxFrames = 1_000_000): Demuxed {
  const frame = streamFrame();
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const frames: Demuxed['frames'] = [];
  let at = 0;
  while (at < body.length) {
    const got = frame(body.subarray(at));
    if (!got) break;
    if (frames.length >= maxFrames) throw new ProtocolError(`more than ${maxFrames} stream frames`);
    (got.value.stream === 'stderr' ? err : out).push(got.value.data);
    frames.push({ stream: got.value.stream, bytes: got.value.data.length });
    at += got.size;
  }
  return { stdout: concat(out), stderr: concat(err), frames, trailing: body.length - at };
}

export function encodeStreamFrame(stream: StreamName, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out[0] = NAMES.indexOf(stream);
  new DataView(out.buffer).setUint32(4, data.length);
  out.set(data, 8);
  return out;
}

/** The Engine API error body: {"message": "..."} (podman adds "cause" and "response"). */
export function errorMessage(json: unknown): string | undefined {
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') return (json as { message: string }).message;
  return undefined;
}
