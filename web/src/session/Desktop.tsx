// A remote desktop in a canvas (the `view` sessions): binary frames are framebuffer updates decoded to RGBA by the Worker
// (format in src/protocols/vnc/framebuffer.ts), drawn as they come and acknowledged once drawn; the keyboard and the mouse
// go back as key and pointer messages; Ctrl-Alt-Del, fullscreen, clipboard both ways and resizing the remote desktop.
import { useEffect, useRef, useState } from 'react';
import { DesktopPainter } from './desktop-draw.ts';
import type { SessionHandle } from './SessionView.tsx';

type Json = Record<string, unknown>;

/** X keysyms of the keys whose KeyboardEvent.key is a name, not a character. */
const KEYSYMS: Record<string, number> = {
  Backspace: 0xff08, Tab: 0xff09, Enter: 0xff0d, Escape: 0xff1b, Delete: 0xffff, Home: 0xff50, End: 0xff57, PageUp: 0xff55, PageDown: 0xff56,
  ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54, Insert: 0xff63, ContextMenu: 0xff67, Pause: 0xff13, ScrollLock: 0xff14,
  PrintScreen: 0xff61, NumLock: 0xff7f, CapsLock: 0xffe5, F1: 0xffbe, F2: 0xffbf, F3: 0xffc0, F4: 0xffc1, F5: 0xffc2, F6: 0xffc3, F7: 0xffc4, F8: 0xffc5,
  F9: 0xffc6, F10: 0xffc7, F11: 0xffc8, F12: 0xffc9,
};
const MODIFIERS: Record<string, number> = { ShiftLeft: 0xffe1, ShiftRight: 0xffe2, ControlLeft: 0xffe3, ControlRight: 0xffe4, AltLeft: 0xffe9, AltRight: 0xffea, MetaLeft: 0xffe7, MetaRight: 0xffe8 };

/** The keysym of a key event: a modifier by its position, a named key, or the character (Latin-1 as is, the rest as Unicode keysyms). */
export function keysymOf(e: { key: string; code: string }): number | undefined {
  if (MODIFIERS[e.code]) return MODIFIERS[e.code];
  if (e.key === 'AltGraph') return 0xfe03;
  if (KEYSYMS[e.key]) return KEYSYMS[e.key];
  const chars = [...e.key];
  if (chars.length !== 1) return undefined;
  const cp = chars[0].codePointAt(0)!;
  return cp < 0x100 ? cp : 0x01000000 + cp;
}

/** Browser buttons (1 left, 2 right, 4 middle) to RFB's mask (1 left, 2 middle, 4 right). */
function rfbButtons(buttons: number): number {
  return (buttons & 1) | ((buttons & 4) >> 1) | ((buttons & 2) << 1);
}

export default function Desktop({
  handle,
  subscribe,
  subscribeJson,
  backlog,
  active,
}: {
  handle: SessionHandle;
  subscribe: (l: (b: Uint8Array) => void) => () => void;
  subscribeJson: (l: (m: Json) => void) => () => void;
  backlog: Json[];
  active: boolean;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const handleRef = useRef(handle);
  handleRef.current = handle;
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [fit, setFit] = useState(true);
  const [remoteText, setRemoteText] = useState('');
  const [localText, setLocalText] = useState('');
  const [frames, setFrames] = useState(0);
  const backlogRef = useRef(backlog);
  backlogRef.current = backlog;

  useEffect(() => {
    const c = canvas.current!;
    const painter = new DesktopPainter(c);
    const onJson = (m: Json) => {
      if ((m.type === 'init' || m.type === 'resize') && typeof m.width === 'number' && typeof m.height === 'number' && (m.status ?? 0) === 0) {
        const w = m.width;
        const h = m.height;
        void painter.resize(w, h).then(() => setSize({ width: w, height: h }));
      } else if (m.type === 'clipboard' && typeof m.text === 'string') setRemoteText(m.text);
    };
    for (const m of backlogRef.current) onJson(m);
    const offJson = subscribeJson(onJson);
    const offData = subscribe((bytes) => {
      void painter.draw(bytes).then(() => {
        setFrames((n) => n + 1);
        c.dataset.frames = String(Number(c.dataset.frames ?? 0) + 1);
        handleRef.current.ack(bytes.length);
      });
    });
    // Updates that came before this view was drawn are gone: ask for the whole screen.
    handleRef.current.sendJson({ type: 'refresh' });
    return () => {
      offJson();
      offData();
    };
  }, [subscribe, subscribeJson]);

  const position = (e: { clientX: number; clientY: number }) => {
    const c = canvas.current!;
    const r = c.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * c.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * c.height);
    return { x: Math.max(0, Math.min(c.width - 1, x)), y: Math.max(0, Math.min(c.height - 1, y)) };
  };
  const pointer = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!active) return;
    e.preventDefault();
    if (e.type === 'pointerdown') canvas.current!.focus();
    handle.sendJson({ type: 'pointer', ...position(e), buttons: rfbButtons(e.buttons) });
  };
  const wheel = (e: React.WheelEvent<HTMLCanvasElement>) => {
    if (!active || e.deltaY === 0) return;
    const p = position(e);
    const bit = e.deltaY < 0 ? 8 : 16;
    handle.sendJson({ type: 'pointer', ...p, buttons: bit });
    handle.sendJson({ type: 'pointer', ...p, buttons: 0 });
  };
  const pressed = useRef(new Map<string, number>());
  const key = (e: React.KeyboardEvent<HTMLCanvasElement>, down: boolean) => {
    if (!active) return;
    const code = e.code || e.key;
    const keysym = down ? keysymOf(e) : pressed.current.get(code);
    if (keysym === undefined) return;
    e.preventDefault();
    if (down) pressed.current.set(code, keysym);
    else pressed.current.delete(code);
    handle.sendJson({ type: 'key', keysym, down });
  };
  const releaseAll = () => {
    for (const keysym of pressed.current.values()) handle.sendJson({ type: 'key', keysym, down: false });
    pressed.current.clear();
  };

  return (
    <div className="desktop" data-testid="desktop-view">
      <div className="row desktop-bar">
        <button type="button" className="small" onClick={() => handle.sendJson({ type: 'ctrl-alt-del' })} disabled={!active}>
          Ctrl-Alt-Del
        </button>
        <button type="button" className="small" onClick={() => frame.current?.requestFullscreen?.()}>
          Fullscreen
        </button>
        <button type="button" className="small" aria-pressed={fit} onClick={() => setFit(!fit)} title="Scale the desktop to the window, or show it 1:1">
          {fit ? 'Scaled' : '1:1'}
        </button>
        <button
          type="button"
          className="small"
          disabled={!active}
          title="Ask the server to change the desktop to the size of this view"
          onClick={() => {
            const r = frame.current!.getBoundingClientRect();
            handle.sendJson({ type: 'resize', width: Math.floor(r.width), height: Math.floor(Math.min(r.height, window.innerHeight - 120)) });
          }}
        >
          Resize remote
        </button>
        <button type="button" className="small" onClick={() => handle.sendJson({ type: 'refresh' })} disabled={!active}>
          Refresh
        </button>
        <span className="small muted mono" data-testid="desktop-size">
          {size ? `${size.width}×${size.height}` : 'waiting for the desktop…'} · {frames} updates
        </span>
      </div>
      <div ref={frame} className={`desktop-frame ${fit ? 'fit' : ''}`}>
        <canvas
          ref={canvas}
          data-testid="desktop"
          tabIndex={0}
          aria-label="Remote desktop"
          onPointerDown={pointer}
          onPointerUp={pointer}
          onPointerMove={pointer}
          onWheel={wheel}
          onContextMenu={(e) => e.preventDefault()}
          onKeyDown={(e) => key(e, true)}
          onKeyUp={(e) => key(e, false)}
          onBlur={releaseAll}
        />
      </div>
      <div className="row desktop-clipboard">
        <label className="small">
          Remote clipboard
          <textarea aria-label="Remote clipboard" readOnly value={remoteText} rows={2} />
        </label>
        <label className="small">
          Send to the remote clipboard
          <textarea aria-label="Text for the remote clipboard" value={localText} rows={2} onChange={(e) => setLocalText(e.target.value)} />
        </label>
        <button type="button" className="small" disabled={!active || !localText} onClick={() => handle.sendJson({ type: 'clipboard', text: localText })}>
          Send clipboard
        </button>
      </div>
    </div>
  );
}
