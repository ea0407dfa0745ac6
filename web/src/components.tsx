// Small shared pieces: stars, badges, copy buttons, downloads.
import { useState, type ReactNode } from 'react';
import { OUTCOME_TONE } from './lib/api.ts';

export function Stars({ stars, reason }: { stars: number; reason?: string }) {
  return (
    <span className="stars" title={reason} aria-label={`${stars} of 5 stars${reason ? `: ${reason}` : ''}`}>
      {'★'.repeat(stars)}
      <span className="off">{'☆'.repeat(Math.max(0, 5 - stars))}</span>
    </span>
  );
}

export function OutcomeBadge({ code }: { code: string }) {
  return <span className={`badge ${OUTCOME_TONE[code] ?? 'bad'}`}>{code.replace(/_/g, ' ')}</span>;
}

export function Tag({ children, tone, title }: { children: ReactNode; tone?: 'ok' | 'warn' | 'bad' | 'info'; title?: string }) {
  return (
    <span className={`tag${tone ? ` ${tone}` : ''}`} title={title}>
      {children}
    </span>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard (insecure context): fall back to a selection.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label = 'Copy', className = 'small' }: { text: string | (() => string); label?: string; className?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className={className}
      onClick={async () => {
        if (await copyText(typeof text === 'function' ? text() : text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        }
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/** Saves data as a file through the browser's download (an <a download> click). */
export function download(name: string, data: string | Uint8Array | Blob, type = 'text/plain'): void {
  const blob = data instanceof Blob ? data : new Blob([typeof data === 'string' ? data : new Uint8Array(data)], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser reads the blob when it starts the download; a large one takes longer than a moment.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
