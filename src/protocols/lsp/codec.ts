// The base protocol of the Language Server Protocol (LSP 3.17 "Base Protocol"), which the Debug Adapter
// Protocol shares: a header part of "Name: value" lines ended by an empty line, Content-Length required,
// then a UTF-8 JSON body of exactly that many bytes.
import { fromLatin1, fromUtf8, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

const HEADER_END = utf8('\r\n\r\n');
const MAX_HEADER = 8 * 1024;

export interface JsonMessage {
  headers: Record<string, string>;
  body: unknown;
  /** Bytes of the body. */
  length: number;
}

export function encodeMessage(message: unknown): Uint8Array {
  const body = utf8(JSON.stringify(message));
  const head = utf8(`Content-Length: ${body.length}\r\n\r\n`);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** One message; bodies longer than `maxBody` are a protocol error before any of it is buffered past the cap. */
export function messageFrame(maxBody = 16 * 1024 * 1024): Frame<JsonMessage> {
  return (buf) => {
    const end = indexOf(buf, HEADER_END);
    if (end === -1) {
      if (buf.length > MAX_HEADER) throw new ProtocolError(`message header longer than ${MAX_HEADER} bytes`);
      return undefined;
    }
    const headers: Record<string, string> = {};
    for (const line of fromLatin1(buf.subarray(0, end)).split('\r\n')) {
      const at = line.indexOf(':');
      if (at <= 0) throw new ProtocolError(`header line ${JSON.stringify(line.slice(0, 80))} is not "Name: value"`);
      headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    }
    const lengthText = headers['content-length'];
    if (lengthText === undefined) throw new ProtocolError('message without Content-Length');
    if (!/^\d{1,10}$/.test(lengthText)) throw new ProtocolError(`Content-Length ${JSON.stringify(lengthText)} is not a number`);
    const length = Number(lengthText);
    if (length > maxBody) throw new ProtocolError(`message body of ${length} bytes exceeds the ${maxBody}-byte limit`);
    const start = end + 4;
    if (buf.length < start + length) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(fromUtf8(buf.subarray(start, start + length), true, 'message body'));
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      throw new ProtocolError(`message body is not JSON: ${(e as Error).message}`);
    }
    return { value: { headers, body, length }, size: start + length };
  };
}

/** A JSON-RPC 2.0 message as LSP uses it. */
export interface RpcMessage {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export function asRpc(body: unknown): RpcMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProtocolError('JSON-RPC message is not an object');
  return body as RpcMessage;
}

/** LSP CompletionItemKind names (3.17). */
export const COMPLETION_KINDS = [
  '', 'Text', 'Method', 'Function', 'Constructor', 'Field', 'Variable', 'Class', 'Interface', 'Module', 'Property', 'Unit', 'Value', 'Enum',
  'Keyword', 'Snippet', 'Color', 'File', 'Reference', 'Folder', 'EnumMember', 'Constant', 'Struct', 'Event', 'Operator', 'TypeParameter',
];

/** Hover contents in any of their three shapes (MarkupContent, MarkedString, MarkedString[]) as text. */
export function hoverText(contents: unknown): { kind: string; value: string } {
  if (typeof contents === 'string') return { kind: 'plaintext', value: contents };
  if (Array.isArray(contents)) {
    const parts = contents.map((c) => hoverText(c).value).filter(Boolean);
    return { kind: 'markdown', value: parts.join('\n\n') };
  }
  if (contents && typeof contents === 'object') {
    const c = contents as { kind?: string; value?: string; language?: string };
    if (typeof c.language === 'string') return { kind: 'markdown', value: `\`\`\`${c.language}\n${c.value ?? ''}\n\`\`\`` };
    return { kind: c.kind ?? 'plaintext', value: c.value ?? '' };
  }
  return { kind: 'plaintext', value: '' };
}
