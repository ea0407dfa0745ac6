// Interactive sessions over the generic contract: the first message is {"type":"start","input"}; binary frames are data,
// text frames are JSON control messages with a `type`; the server ends with {"type":"end","result"} or {"type":"error"}.
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { sessionUrl, type ApiError, type OperationAnswer, type OperationInfo, type ProtocolInfo } from '../lib/api.ts';
import { utf8 } from '../lib/bytes.ts';
import { formatHostPort } from '../form/OperationForm.tsx';
import { ErrorView } from '../results/ResultView.tsx';
import { JsonTree, Scalar } from '../results/views.tsx';
import { isMessageFeed, MessageFeed } from './MessageFeed.tsx';

const Terminal = lazy(() => import('./Terminal.tsx'));
const Desktop = lazy(() => import('./Desktop.tsx'));

export type SessionKind = 'terminal' | 'log' | 'feed' | 'desktop';

/** The view a session opens in: remote desktops (`view`) a canvas, shells a terminal, subscriptions a feed, the rest a message log. */
export function sessionKind(p: ProtocolInfo, op: OperationInfo): SessionKind {
  if (p.category === 'remote' && op.name === 'view') return 'desktop';
  if (/^(shell|pty|terminal|console|interactive)$/i.test(op.name) || (p.category === 'remote' && !/exec|probe/i.test(op.name))) return 'terminal';
  if (/subscribe|monitor|listen|idle|watch|feed|tail|follow|notify/i.test(`${op.name} ${op.summary}`)) return 'feed';
  return 'log';
}

export interface SessionMessage {
  n: number;
  at: number;
  dir: 'in' | 'out' | 'sys';
  /** A JSON control message, or bytes. */
  json?: Record<string, unknown>;
  bytes?: Uint8Array;
}

export interface SessionHandle {
  sendBytes(b: Uint8Array): void;
  sendJson(m: Record<string, unknown>): void;
  /** Credit for `n` data bytes consumed (flow control, as on /api/tunnel): {"type":"ack","bytes":n}, batched. */
  ack(n: number): void;
  /** Settles `n` feed messages received, for feeds that announced {"acks":"messages"}: {"type":"ack","messages":n}, batched. */
  ackMessages(n: number): void;
}

type State = 'connecting' | 'open' | 'ended' | 'failed';

const MAX_MESSAGES = 5000;

export function SessionView({ protocol, op, input, onEnd, onError }: { protocol: ProtocolInfo; op: OperationInfo; input: Record<string, unknown>; onEnd: (a: OperationAnswer | null) => void; onError?: (e: ApiError) => void }) {
  const [kind, setKind] = useState<SessionKind>(() => sessionKind(protocol, op));
  const [state, setState] = useState<State>('connecting');
  const [messages, setMessages] = useState<SessionMessage[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [stats, setStats] = useState({ inBytes: 0, outBytes: 0, inMsgs: 0 });
  const [started, setStarted] = useState(() => Date.now());
  const ws = useRef<WebSocket | null>(null);
  const counter = useRef(0);
  const dataListeners = useRef(new Set<(b: Uint8Array) => void>());
  const jsonListeners = useRef(new Set<(m: Record<string, unknown>) => void>());
  const kindRef = useRef(kind);
  kindRef.current = kind;
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;
  const onErrorRef = useRef(onError);
  onErrorRef.current = onError;

  const unacked = useRef(0);
  const ackTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const unackedMessages = useRef(0);
  const messageAckTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** A broker feed announced itself ({"acks": ...}); with "messages" each message is settled once received. */
  const brokerAnnounced = useRef(false);
  const settleMessages = useRef(false);
  /** Messages dropped from the view (oldest first) once MAX_MESSAGES are held. */
  const dropped = useRef(0);
  const push = (m: Omit<SessionMessage, 'n' | 'at'>) =>
    setMessages((list) => {
      const next = [...list, { ...m, n: ++counter.current, at: Date.now() }];
      if (next.length <= MAX_MESSAGES) return next;
      dropped.current += next.length - MAX_MESSAGES;
      return next.slice(-MAX_MESSAGES);
    });

  useEffect(() => {
    const socket = new WebSocket(sessionUrl(protocol.id, op.name));
    socket.binaryType = 'arraybuffer';
    ws.current = socket;
    setStarted(Date.now());
    let ended = false;
    socket.onopen = () => {
      setState('open');
      socket.send(JSON.stringify({ type: 'start', input }));
      push({ dir: 'sys', json: { type: 'connected', url: socket.url } });
    };
    socket.onmessage = (e) => {
      if (typeof e.data !== 'string') {
        const bytes = new Uint8Array(e.data as ArrayBuffer);
        setStats((s) => ({ ...s, inBytes: s.inBytes + bytes.length, inMsgs: s.inMsgs + 1 }));
        // A mounted terminal acknowledges once it has drawn the bytes; otherwise the log has consumed them now.
        if (dataListeners.current.size > 0) dataListeners.current.forEach((l) => l(bytes));
        else handleRef.current?.ack(bytes.length);
        // A desktop's updates are megabytes each: the canvas has drawn them, the log keeps their size only.
        push(kindRef.current === 'desktop' ? { dir: 'in', json: { type: 'update', bytes: bytes.length } } : { dir: 'in', bytes });
        return;
      }
      // Credit flow control counts a JSON message by its characters; it is consumed once shown.
      handleRef.current?.ack((e.data as string).length);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(e.data) as Record<string, unknown>;
      } catch {
        msg = { type: 'text', text: e.data };
      }
      setStats((s) => ({ ...s, inMsgs: s.inMsgs + 1 }));
      if (typeof msg.acks === 'string') {
        brokerAnnounced.current = true;
        settleMessages.current = msg.acks === 'messages';
      }
      if (msg.type === 'message' && settleMessages.current) handleRef.current?.ackMessages(1);
      jsonListeners.current.forEach((l) => l(msg));
      push({ dir: 'in', json: msg });
      if (msg.type === 'end') {
        ended = true;
        setState('ended');
        onEndRef.current({ ok: true, protocol: protocol.id, operation: op.name, result: msg.result, timing: msg.timing as Record<string, number> | undefined });
      } else if (msg.type === 'error') {
        const err = (msg.error ?? { code: 'error', message: JSON.stringify(msg) }) as ApiError;
        setError(err);
        onErrorRef.current?.(err);
      }
    };
    socket.onclose = (e) => {
      if (!ended) {
        setState((s) => (s === 'connecting' ? 'failed' : 'ended'));
        push({ dir: 'sys', json: { type: 'closed', code: e.code, reason: e.reason || undefined } });
      }
    };
    socket.onerror = () => push({ dir: 'sys', json: { type: 'socket error' } });
    return () => {
      ended = true;
      socket.close(1000, 'left the page');
    };
  }, [protocol.id, op.name, input]);

  const handle: SessionHandle = useMemo(
    () => ({
      sendBytes(b) {
        if (ws.current?.readyState !== WebSocket.OPEN) return;
        ws.current.send(b);
        setStats((s) => ({ ...s, outBytes: s.outBytes + b.length }));
        if (kind !== 'terminal' && kind !== 'desktop') push({ dir: 'out', bytes: b });
      },
      sendJson(m) {
        if (ws.current?.readyState !== WebSocket.OPEN) return;
        ws.current.send(JSON.stringify(m));
        if (m.type !== 'resize' && m.type !== 'ack' && m.type !== 'pointer') push({ dir: 'out', json: m });
      },
      ack(n) {
        unacked.current += n;
        if (ackTimer.current) return;
        ackTimer.current = setTimeout(() => {
          ackTimer.current = null;
          const bytes = unacked.current;
          unacked.current = 0;
          if (bytes > 0 && ws.current?.readyState === WebSocket.OPEN) ws.current.send(JSON.stringify({ type: 'ack', bytes }));
        }, 25);
      },
      ackMessages(n) {
        unackedMessages.current += n;
        if (messageAckTimer.current) return;
        messageAckTimer.current = setTimeout(() => {
          messageAckTimer.current = null;
          const count = unackedMessages.current;
          unackedMessages.current = 0;
          if (count > 0 && ws.current?.readyState === WebSocket.OPEN) ws.current.send(JSON.stringify({ type: 'ack', messages: count }));
        }, 25);
      },
    }),
    [kind],
  );
  const handleRef = useRef<SessionHandle | null>(null);
  handleRef.current = handle;

  const subscribe = useCallback((l: (b: Uint8Array) => void) => {
    dataListeners.current.add(l);
    return () => {
      dataListeners.current.delete(l);
    };
  }, []);

  // A broker feed (it announced itself, or its messages carry topics) gets the message view.
  const brokerFeed = brokerAnnounced.current || isMessageFeed(messages);
  const subscribeJson = useCallback((l: (m: Record<string, unknown>) => void) => {
    jsonListeners.current.add(l);
    return () => {
      jsonListeners.current.delete(l);
    };
  }, []);

  const stop = () => {
    handle.sendJson({ type: 'stop' });
    const socket = ws.current;
    setTimeout(() => socket?.readyState === WebSocket.OPEN && socket.close(1000, 'stopped'), 3000);
  };

  return (
    <div data-testid="session" data-state={state}>
      <div className="session-bar">
        <span className={`badge ${state === 'open' ? 'ok' : state === 'connecting' ? 'info' : state === 'failed' ? 'bad' : 'warn'}`}>{state}</span>
        <b>
          {protocol.id} {op.name}
        </b>
        <span className="mono muted small">→ {formatHostPort(input.host, input.port)}</span>
        <Elapsed since={started} running={state === 'open'} />
        <span className="small muted">
          {stats.inMsgs} in · {stats.inBytes} B in · {stats.outBytes} B out
        </span>
        <span className="spacer" />
        <span role="tablist" aria-label="Session view" className="row">
          {((sessionKind(protocol, op) === 'desktop' ? ['desktop', 'log'] : ['terminal', 'log', 'feed']) as SessionKind[]).map((k) => (
            <button key={k} type="button" role="tab" className="small" aria-selected={kind === k} onClick={() => setKind(k)}>
              {k}
            </button>
          ))}
        </span>
        <button type="button" className="small danger" onClick={stop} disabled={state !== 'open'}>
          Stop
        </button>
      </div>
      {error && <ErrorView error={error} />}
      {kind === 'terminal' && (
        <Suspense fallback={<div className="term" />}>
          <Terminal handle={handle} subscribe={subscribe} backlog={messages.filter((m) => m.bytes && m.dir === 'in').map((m) => m.bytes!)} active={state === 'open'} />
          <ControlLine messages={messages} />
        </Suspense>
      )}
      {kind === 'desktop' && (
        <Suspense fallback={<div className="desktop-frame" />}>
          <Desktop handle={handle} subscribe={subscribe} subscribeJson={subscribeJson} backlog={messages.filter((m) => m.json && m.dir === 'in').map((m) => m.json!)} active={state === 'open'} />
          <ControlLine messages={messages.filter((m) => m.json?.type !== 'update')} />
        </Suspense>
      )}
      {kind === 'log' && <MessageLog messages={messages} handle={handle} active={state === 'open'} hint={op.messages} />}
      {kind === 'feed' && brokerFeed && (
        <>
          <MessageFeed messages={messages} dropped={dropped.current} />
          <InputLine handle={handle} active={state === 'open'} placeholder='A control message, e.g. {"type":"subscribe","topics":["sensors/#"]}' />
        </>
      )}
      {kind === 'feed' && !brokerFeed && <LiveFeed messages={messages} handle={handle} active={state === 'open'} />}
    </div>
  );
}

function Elapsed({ since, running }: { since: number; running: boolean }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  const s = Math.max(0, Math.round((now - since) / 1000));
  return <span className="mono small muted">{`${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`}</span>;
}

/** The latest control message under a terminal (the terminal itself shows only data). */
function ControlLine({ messages }: { messages: SessionMessage[] }) {
  const last = [...messages].reverse().find((m) => m.json && m.dir !== 'out');
  if (!last?.json) return null;
  return (
    <div className="small muted mono" style={{ marginTop: 6 }}>
      {String(last.json.type)} {Object.keys(last.json).length > 1 ? JSON.stringify({ ...last.json, type: undefined }).slice(0, 200) : ''}
    </div>
  );
}

/** Bytes objects ({text} / {hex} / {base64}) read as their text, for one-line summaries. */
function flatten(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(flatten);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length > 0 && keys.every((k) => ['text', 'hex', 'base64', 'length', 'truncated'].includes(k))) return o.text ?? (o.hex !== undefined ? `0x${String(o.hex)}` : `b64:${String(o.base64)}`);
    return Object.fromEntries(keys.map((k) => [k, flatten(o[k])]));
  }
  return v;
}

function describe(m: SessionMessage): string {
  if (m.bytes) return utf8(m.bytes);
  const { type: _type, ...rest } = m.json ?? {};
  if (Object.keys(rest).length === 0) return '';
  return Object.entries(flatten(rest) as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join('  ');
}

/** The input line: JSON (starting with "{") goes as a control message, other text as data with the chosen line ending. */
function InputLine({ handle, active, placeholder }: { handle: SessionHandle; active: boolean; placeholder: string }) {
  const [text, setText] = useState('');
  const [eol, setEol] = useState('\r\n');
  const [sent, setSent] = useState<string[]>([]);
  const [cursor, setCursor] = useState(-1);
  const [bad, setBad] = useState<string | null>(null);
  const send = () => {
    const t = text;
    if (t.trim() === '') return;
    if (t.trim().startsWith('{')) {
      try {
        const m = JSON.parse(t) as Record<string, unknown>;
        if (typeof m.type !== 'string') throw new Error('a control message needs a "type"');
        handle.sendJson(m);
      } catch (e) {
        setBad(e instanceof Error ? e.message : String(e));
        return;
      }
    } else handle.sendBytes(new TextEncoder().encode(t + eol));
    setBad(null);
    setSent((s) => [t, ...s.filter((x) => x !== t)].slice(0, 50));
    setCursor(-1);
    setText('');
  };
  return (
    <div>
      <div className="inline" style={{ marginTop: 8 }}>
        <input
          aria-label="Message to send"
          value={text}
          disabled={!active}
          placeholder={placeholder}
          spellCheck={false}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              send();
            } else if (e.key === 'ArrowUp' && sent.length) {
              e.preventDefault();
              const c = Math.min(cursor + 1, sent.length - 1);
              setCursor(c);
              setText(sent[c]);
            } else if (e.key === 'ArrowDown') {
              e.preventDefault();
              const c = Math.max(cursor - 1, -1);
              setCursor(c);
              setText(c === -1 ? '' : sent[c]);
            }
          }}
        />
        <select aria-label="Line ending for text" value={eol} onChange={(e) => setEol(e.target.value)}>
          <option value={'\r\n'}>CRLF</option>
          <option value={'\n'}>LF</option>
          <option value="">none</option>
        </select>
        <button type="button" onClick={send} disabled={!active}>
          Send
        </button>
      </div>
      {bad && <span className="field-error">{bad}</span>}
    </div>
  );
}

function MessageLog({ messages, handle, active, hint }: { messages: SessionMessage[]; handle: SessionHandle; active: boolean; hint?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [messages, follow]);
  return (
    <div>
      <div
        className="log"
        ref={box}
        role="log"
        aria-label="Session messages"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - 8);
        }}
      >
        {messages.map((m) => (
          <div key={m.n} className={`m ${m.dir === 'out' ? 'out' : m.dir === 'sys' ? 'sys' : m.json?.type === 'error' ? 'err' : ''}`}>
            <span className="ts">{new Date(m.at).toLocaleTimeString()}</span>
            <span className="ty">
              {m.dir === 'out' ? '→' : m.dir === 'in' ? '←' : '·'} {m.bytes ? `${m.bytes.length} B` : String(m.json?.type)}
            </span>
            {describe(m)}
          </div>
        ))}
      </div>
      {hint && <p className="small muted">{hint}</p>}
      <InputLine handle={handle} active={active} placeholder='Text to send as data, or a control message like {"type":"ping"} — ↑ for history' />
    </div>
  );
}

/** Subscriptions: each message a row, newest first, with a filter and pause. */
function LiveFeed({ messages, handle, active }: { messages: SessionMessage[]; handle: SessionHandle; active: boolean }) {
  const [filter, setFilter] = useState('');
  const [paused, setPaused] = useState<SessionMessage[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const source = paused ?? messages;
  const shown = source.filter((m) => m.dir !== 'out' && (!filter || `${m.json?.type ?? ''} ${describe(m)}`.toLowerCase().includes(filter.toLowerCase()))).slice(-1000).reverse();
  const types = messages.reduce<Record<string, number>>((acc, m) => {
    const t = m.bytes ? 'data' : String(m.json?.type);
    if (m.dir === 'in') acc[t] = (acc[t] ?? 0) + 1;
    return acc;
  }, {});
  const pick = shown.find((m) => m.n === selected);
  return (
    <div>
      <div className="row" style={{ marginBottom: 6 }}>
        <input aria-label="Filter messages" placeholder="Filter…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button type="button" className="small" aria-pressed={paused !== null} onClick={() => setPaused(paused ? null : messages)}>
          {paused ? `Resume (${messages.length - paused.length} new)` : 'Pause'}
        </button>
        <span className="small muted">{Object.entries(types).map(([t, n]) => `${t} ${n}`).join(' · ')}</span>
      </div>
      <div className="table-wrap" style={{ maxHeight: 360 }}>
        <table className="grid" aria-label="Live feed">
          <thead>
            <tr>
              <th>time</th>
              <th>type</th>
              <th>message</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((m) => (
              <tr key={m.n} onClick={() => setSelected(m.n === selected ? null : m.n)} style={{ cursor: 'pointer' }} aria-selected={m.n === selected}>
                <td>{new Date(m.at).toLocaleTimeString()}</td>
                <td>{m.bytes ? 'data' : <Scalar value={m.json?.type} />}</td>
                <td>{describe(m).slice(0, 400)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pick?.json && (
        <div className="section">
          <JsonTree value={pick.json} />
        </div>
      )}
      <InputLine handle={handle} active={active} placeholder='A control message, e.g. {"type":"subscribe","channels":["news"]}' />
    </div>
  );
}
