// One message for reading: its envelope, its MIME tree (BODYSTRUCTURE), its text parts fetched and decoded
// (transfer encoding, charset; capped), the images its HTML names by cid: (small ones, as bytes), and every
// other part listed for download by section.
import { toBase64 } from '../../core/bytes.ts';
import { ServerError } from '../../core/errors.ts';
import { decodeBodyText, decodeTransferEncoding } from '../mail/mime.ts';
import type { ImapSession } from './client.ts';
import { asBytes, fetchItems, joinParts, type BodyPart } from './codec.ts';
import { uidFetch, type FetchedMessage } from './commands.ts';

/** At most this many text parts are fetched; the rest are listed as attachments. */
export const MAX_TEXT_PARTS = 8;
/** Inline images referenced by Content-ID: each at most this large, all together at most INLINE_TOTAL. */
export const INLINE_MAX = 256 * 1024;
export const INLINE_TOTAL = 1024 * 1024;

export interface TextPart {
  section: string;
  subtype: string;
  charset: string;
  encoding: string;
  /** The encoded size the server reports. */
  size: number | null;
  text: string;
  truncated: boolean;
}

export interface PartInfo {
  section: string;
  type: string;
  disposition: string | null;
  filename: string | null;
  contentId: string | null;
  encoding: string | null;
  size: number | null;
}

export interface InlinePart {
  section: string;
  contentId: string;
  type: string;
  base64: string;
}

export interface MessagePlan {
  texts: BodyPart[];
  inline: BodyPart[];
  attachments: PartInfo[];
}

const contentId = (p: BodyPart): string | null => (p.id ? p.id.trim().replace(/^<|>$/g, '') : null);

export function partInfo(p: BodyPart): PartInfo {
  return {
    section: p.section,
    type: `${p.type}/${p.subtype}`,
    disposition: p.disposition?.type ?? null,
    filename: p.disposition?.params.filename ?? p.params.name ?? null,
    contentId: contentId(p),
    encoding: p.encoding,
    size: p.size,
  };
}

/** The leaves of a MIME tree in order; a message/rfc822 part is one leaf (downloadable as it is). */
export function leaves(tree: BodyPart): BodyPart[] {
  if (!tree.parts || tree.type === 'message') return [tree];
  return tree.parts.flatMap(leaves);
}

/**
 * Which parts to show and which to list: text/plain and text/html that are not attachments are shown (at most
 * MAX_TEXT_PARTS), images with a Content-ID small enough are fetched for cid: references, every part but the
 * shown texts is listed for download.
 */
export function planMessage(tree: BodyPart): MessagePlan {
  const plan: MessagePlan = { texts: [], inline: [], attachments: [] };
  let inlineBytes = 0;
  for (const p of leaves(tree)) {
    const attachment = p.disposition?.type === 'attachment';
    if (p.type === 'text' && (p.subtype === 'plain' || p.subtype === 'html') && !attachment && plan.texts.length < MAX_TEXT_PARTS) {
      plan.texts.push(p);
      continue;
    }
    plan.attachments.push(partInfo(p));
    // The encoded size: base64 is 4/3 of the bytes, so this bounds the decoded size too.
    if (p.type === 'image' && contentId(p) && p.size !== null && p.size <= INLINE_MAX && inlineBytes + p.size <= INLINE_TOTAL) {
      plan.inline.push(p);
      inlineBytes += p.size;
    }
  }
  return plan;
}

/** How many encoded bytes to fetch for at most `cap` decoded ones. */
export function encodedCap(encoding: string | null, cap: number): number {
  const e = (encoding ?? '').toLowerCase();
  return e === 'base64' ? Math.ceil(cap / 3) * 4 + Math.ceil(cap / 57) * 2 + 4 : e === 'quoted-printable' ? cap * 3 + Math.ceil(cap / 25) * 3 : cap;
}

/** A text part decoded: transfer encoding, then charset; cut at `cap` decoded bytes. */
export function decodeTextPart(p: BodyPart, raw: Uint8Array, rawCut: boolean, cap: number): TextPart {
  let bytes = decodeTransferEncoding(raw, p.encoding);
  let truncated = rawCut;
  if (bytes.length > cap) {
    bytes = bytes.subarray(0, cap);
    truncated = true;
  }
  const { text, charset } = decodeBodyText(bytes, p.params.charset);
  // A cut inside a UTF-8 sequence leaves one replacement character at the end: not part of the message.
  const shown = truncated && text.endsWith('\ufffd') ? text.slice(0, -1) : text;
  return { section: p.section, subtype: p.subtype, charset, encoding: (p.encoding ?? '7bit').toLowerCase(), size: p.size, text: shown, truncated };
}

export interface ReadMessage {
  meta: FetchedMessage;
  tree: BodyPart;
  texts: TextPart[];
  inline: InlinePart[];
  attachments: PartInfo[];
}

/** Fetches message `uid` of the selected mailbox for reading (BODY.PEEK: \Seen is left alone). */
export async function readMessage(s: ImapSession, uid: number, cap: number): Promise<ReadMessage> {
  const [meta] = await uidFetch(s, String(uid), { envelope: true, flags: true, bodyStructure: true, internalDate: true, size: true, body: 'none' });
  if (!meta) throw new ServerError(`no message with UID ${uid} in the mailbox`, { uid });
  if (!meta.bodyStructure) throw new ServerError(`the server sent no BODYSTRUCTURE for UID ${uid}`, { uid });
  const tree = meta.bodyStructure;
  const plan = planMessage(tree);
  const wanted = [
    ...plan.texts.map((p) => ({ p, limit: encodedCap(p.encoding, cap) })),
    ...plan.inline.map((p) => ({ p, limit: p.size ?? INLINE_MAX })),
  ];
  const got = new Map<string, Uint8Array>();
  if (wanted.length > 0) {
    const items = wanted.map(({ p, limit }) => `BODY.PEEK[${p.section}]<0.${limit}>`);
    const c = await s.ok(joinParts('UID FETCH', String(uid), `(UID ${items.join(' ')})`), 'FETCH');
    for (const d of c.data) {
      if (d.name !== 'FETCH') continue;
      for (const [key, value] of fetchItems(d.values)) {
        const k = /^BODY\[([\d.]+)\](?:<\d+>)?$/.exec(key);
        const bytes = k ? asBytes(value, 'BODY') : null;
        if (k && bytes) got.set(k[1], bytes);
      }
    }
  }
  const texts = plan.texts.map((p) => {
    const raw = got.get(p.section) ?? new Uint8Array(0);
    const limit = encodedCap(p.encoding, cap);
    return decodeTextPart(p, raw, raw.length >= limit && (p.size === null || p.size > limit), cap);
  });
  const inline = plan.inline.flatMap((p) => {
    const raw = got.get(p.section);
    return raw ? [{ section: p.section, contentId: contentId(p)!, type: `${p.type}/${p.subtype}`, base64: toBase64(decodeTransferEncoding(raw, p.encoding)) }] : [];
  });
  return { meta, tree, texts, inline, attachments: plan.attachments };
}
