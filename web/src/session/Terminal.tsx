// The terminal of shell sessions (xterm.js): keystrokes go out as binary frames, binary frames come in as screen output.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import type { SessionHandle } from './SessionView.tsx';

export default function Terminal({ handle, subscribe, backlog, active }: { handle: SessionHandle; subscribe: (l: (b: Uint8Array) => void) => () => void; backlog: Uint8Array[]; active: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<XTerm | null>(null);
  const handleRef = useRef(handle);
  handleRef.current = handle;
  const backlogRef = useRef(backlog);
  backlogRef.current = backlog;

  useEffect(() => {
    const t = new XTerm({
      cursorBlink: true,
      convertEol: false,
      fontFamily: getComputedStyle(document.documentElement).getPropertyValue('--mono') || 'monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: { background: '#000000' },
    });
    const fit = new FitAddon();
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
    const onData = t.onData((d) => handleRef.current.sendBytes(encoder.encode(d)));
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

  return <div className="term" ref={box} role="application" aria-label="Terminal" data-testid="terminal" />;
}
