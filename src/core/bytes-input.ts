// Bytes in API inputs and outputs: text (UTF-8), {"base64": ...} or {"hex": ...} in; bytesJson's shape out.
import * as z from 'zod';
import { fromBase64, fromHex, utf8 } from './bytes.ts';
import { InvalidInput } from './errors.ts';

/** An input field for any bytes, at most `maxBytes` once decoded (the string caps follow from it). */
export function bytesField(maxBytes = 8 * 1024 * 1024) {
  return z
    .union([z.string().max(maxBytes), z.object({ base64: z.string().max(Math.ceil((maxBytes * 4) / 3) + 4) }).strict(), z.object({ hex: z.string().max(maxBytes * 2) }).strict()])
    .describe('Text (sent as UTF-8), or {"base64": ...} / {"hex": ...} for any bytes');
}

export type BytesInput = string | { base64: string } | { hex: string };

/** The bytes of a bytesField value; bad base64 or hex is invalid input naming `field`. */
export function inputBytes(v: BytesInput, field: string): Uint8Array {
  if (typeof v === 'string') return utf8(v);
  try {
    return 'base64' in v ? fromBase64(v.base64) : fromHex(v.hex);
  } catch {
    throw InvalidInput.field(field, `is not valid ${'base64' in v ? 'base64' : 'hex'}`);
  }
}

/** bytesJson's output shape. */
export const bytesOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });

export const encodingField = z.enum(['auto', 'text', 'base64', 'hex']).default('auto').describe('How bytes come back: auto (UTF-8 text when valid, else base64), text, base64 or hex');

/** One line for text output: the text, or base64:/hex: and the encoded bytes. */
export function bytesPreview(j: { text?: string; base64?: string; hex?: string }): string {
  return j.text ?? (j.base64 !== undefined ? `base64:${j.base64}` : `hex:${j.hex}`);
}
