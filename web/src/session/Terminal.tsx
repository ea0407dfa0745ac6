// The terminal of shell sessions (xterm.js): keystrokes go out as binary frames, binary frames come in as screen output.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { copyText } from '../components.tsx';
import type { SessionHandle } from './SessionView.tsx';

const FONT_KEY = 'portolan.terminalFontSize';

/** The keys a phone keyboard lacks, as the terminal sends them. */
const EXTRA_KEYS: [string, string][] = [
  ['Esc', '\x1b'],
  ['Tab', '\t'],
  ['←', '\x1b[D'],
  ['↑', '\x1b[A'],
  ['↓', '\x1b[B'],
  ['→', '\x1b[C'],
  ['Home', '\x1b[H'],
  ['End', '\x1b[F'],
];

/** Ctrl with a key: the control character (Ctrl+C is 0x03). */
export function withCtrl(key: string): string {
  const c = key.toUpperCase().charCodeAt(0);
  return c >= 0x40 && c <= 0x5f ? String.fromCharCode(c - 0x40) : key;
}

/** The visible screen as text, rows trimmed at the end. */
function screenText(t: XTerm): string {
  const b = t.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < t.rows; i++) lines.push(b.getLine(b.viewportY + i)?.translateToString(true) ?? '');
  return lines.join('\n').replace(/\n+$/, '');
}

export default function Terminal({ handle, subscribe, backlog, active }: { handle: SessionHandle; subscribe: (l: (b: Uint8Array) => void) => () => void; backlog: Uint8Array[]; active: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<XTerm | null>(null);
  const handleRef = useRef(handle);
  handleRef.current = handle;
  const backlogRef = useRef(backlog);
  backlogRef.current = backlog;
  const wrap = useRef<HTMLDivElement>(null);
  const [fontSize, setFontSize] = useState(() => Number(localStorage.getItem(FONT_KEY)) || 14);
  const [fullscreen, setFullscreen] = useState(false);
  const [ctrl, setCtrl] = useState(false);
  const ctrlRef = useRef(false);
  ctrlRef.current = ctrl;
  const [copied, setCopied] = useState('');
  const [keysShown, setKeysShown] = useState(() => window.matchMedia?.('(pointer: coarse)').matches ?? false);
  const fitRef = useRef<FitAddon | null>(null);

  useEffect(() => {
    const t = new XTerm({
      cursorBlink: true,
      convertEol: false,
      fontFamily: getComputedStyle(document.documentElement).getPropertyValue('--mono') || 'monospace',
      fontSize,
      scrollback: 5000,
      theme: { background: '#000000' },
    });
    const fit = new FitAddon();
    fitRef.current = fit;
    t.loadAddon(fit);
    t.open(box.current!);
    term.current = t;
    try {
      fit.fit();
    } catch {
      // not laid out yet
    }
    for (const b of backlogRef.current) t.write(b);
    const encoder = new TextEncoder();
    const onData = t.onData((d) => {
      // The on-screen Ctrl applies to the next key typed.
      if (ctrlRef.current && d.length === 1) {
        setCtrl(false);
        d = withCtrl(d);
      }
      handleRef.current.sendBytes(encoder.encode(d));
    });
    // Copy on selection, as terminals on X11 do.
    const onSelection = t.onSelectionChange(() => {
      const sel = t.getSelection();
      if (sel) void copyText(sel).then((ok) => ok && setCopied(`Copied ${sel.length} characters`));
    });
    const onBinary = t.onBinary((d) => handleRef.current.sendBytes(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
    const onResize = t.onResize(({ cols, rows }) => handleRef.current.sendJson({ type: 'resize', cols, rows }));
    const unsubscribe = subscribe((b) => t.write(b, () => handleRef.current.ack(b.length)));
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        // hidden
      }
    });
    observer.observe(box.current!);
    t.focus();
    handleRef.current.sendJson({ type: 'resize', cols: t.cols, rows: t.rows });
    return () => {
      observer.disconnect();
      unsubscribe();
      onData.dispose();
      onSelection.dispose();
      onBinary.dispose();
      onResize.dispose();
      t.dispose();
      term.current = null;
    };
  }, [subscribe]);

  useEffect(() => {
    const t = term.current;
    if (!t) return;
    t.options.disableStdin = !active;
    // Once the session is open, tell the server the terminal's size.
    if (active) handleRef.current.sendJson({ type: 'resize', cols: t.cols, rows: t.rows });
  }, [active]);

  useEffect(() => {
    const t = term.current;
    localStorage.setItem(FONT_KEY, String(fontSize));
    if (!t) return;
    t.options.fontSize = fontSize;
    try {
      fitRef.current?.fit();
    } catch {
      // hidden
    }
  }, [fontSize]);

  useEffect(() => {
    const onChange = () => {
      setFullscreen(document.fullscreenElement === wrap.current);
      // The size changed: fit once the layout has settled.
      requestAnimationFrame(() => {
        try {
          fitRef.current?.fit();
        } catch {
          // hidden
        }
      });
    };
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const send = (s: string) => {
    handleRef.current.sendBytes(new TextEncoder().encode(s));
    term.current?.focus();
  };

  return (
    <div className="term-wrap" ref={wrap} data-testid="terminal-wrap">
      <div className="term-tools" role="toolbar" aria-label="Terminal tools">
        <button type="button" className="small" onClick={() => (fullscreen ? void document.exitFullscreen() : void wrap.current?.requestFullscreen())} aria-pressed={fullscreen}>
          {fullscreen ? 'Exit fullscreen' : 'Fullscreen'}
        </button>
        <button type="button" className="small" aria-label="Smaller font" onClick={() => setFontSize((f) => Math.max(8, f - 1))}>
          A−
        </button>
        <span className="small muted" data-testid="font-size">
          {fontSize}px
        </span>
        <button type="button" className="small" aria-label="Larger font" onClick={() => setFontSize((f) => Math.min(32, f + 1))}>
          A+
        </button>
        <button
          type="button"
          className="small"
          onClick={() => {
            const t = term.current;
            if (!t) return;
            const text = t.getSelection() || screenText(t);
            void copyText(text).then((ok) => setCopied(ok ? `Copied ${text.length} characters` : 'Copy failed'));
          }}
        >
          Copy
        </button>
        <button
          type="button"
          className="small"
          onClick={async () => {
            try {
              const text = await navigator.clipboard.readText();
              // xterm wraps it in bracketed-paste marks when the shell asked for them.
              term.current?.paste(text);
              term.current?.focus();
            } catch {
              setCopied('The browser did not allow reading the clipboard');
            }
          }}
        >
          Paste
        </button>
        <button type="button" className="small" aria-pressed={keysShown} onClick={() => setKeysShown(!keysShown)}>
          Keys
        </button>
        <span className="small muted" role="status">
          {copied}
        </span>
      </div>
      <div className="term" ref={box} role="application" aria-label="Terminal" data-testid="terminal" />
      {keysShown && (
        <div className="extra-keys" role="toolbar" aria-label="Extra keys">
          <button type="button" className="small" aria-pressed={ctrl} onClick={() => (setCtrl(!ctrl), term.current?.focus())}>
            Ctrl
          </button>
          {EXTRA_KEYS.map(([label, seq]) => (
            <button key={label} type="button" className="small" onClick={() => send(seq)}>
              {label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
