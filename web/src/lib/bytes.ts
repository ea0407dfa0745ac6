// Bytes as the API sends them (hex, base64) and as the UI shows them (hex dump, CSV).

export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-f]/gi, '');
  const out = new Uint8Array(Math.floor(clean.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function base64ToBytes(b64: string): Uint8Array {
  try {
    const bin = atob(b64.replace(/\s+/g, ''));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return new Uint8Array(0);
  }
}

export function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/** Classic 16-bytes-per-row dump lines: offset, hex, printable ASCII. */
export function hexDumpRows(bytes: Uint8Array, max = 64 * 1024): { offset: string; hex: string; ascii: string }[] {
  const rows = [];
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i += 16) {
    const chunk = bytes.subarray(i, Math.min(i + 16, n));
    let hex = '';
    let ascii = '';
    for (let j = 0; j < 16; j++) {
      if (j < chunk.length) {
        hex += chunk[j].toString(16).padStart(2, '0') + ' ';
        ascii += chunk[j] >= 0x20 && chunk[j] < 0x7f ? String.fromCharCode(chunk[j]) : '.';
      } else hex += '   ';
      if (j === 7) hex += ' ';
    }
    rows.push({ offset: i.toString(16).padStart(8, '0'), hex, ascii });
  }
  return rows;
}

export function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: string[], rows: unknown[][]): string {
  return [columns.map(csvCell).join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\r\n') + '\r\n';
}
