// The live feed of a message-broker session (MQTT subscribe, AMQP consume, STOMP subscribe): one row per message
// with its topic, time, size and a payload preview (text, pretty JSON or hex), pause, filter, a detail pane, and a
// topic tree with the message count and last value under each level, as MQTT Explorer users expect.
import { useMemo, useRef, useState } from 'react';
import { base64ToBytes, hexToBytes } from '../lib/bytes.ts';
import { JsonTree } from '../results/views.tsx';
import type { SessionMessage } from './SessionView.tsx';

type Payload = { text?: string; base64?: string; hex?: string; truncated?: boolean };
type View = 'text' | 'json' | 'hex';

interface FeedMessage {
  n: number;
  at: number;
  topic: string;
  size: number;
  payload: Payload;
  json: Record<string, unknown>;
}

/** Whether a session's messages are broker messages this view knows how to show. */
export function isMessageFeed(messages: SessionMessage[]): boolean {
  return messages.some((m) => m.json?.type === 'message' && typeof m.json.topic === 'string' && typeof m.json.payload === 'object');
}

function feedMessage(m: SessionMessage): FeedMessage | null {
  const j = m.json;
  if (!j || m.dir !== 'in' || j.type !== 'message' || typeof j.topic !== 'string') return null;
  return { n: m.n, at: m.at, topic: j.topic, size: typeof j.size === 'number' ? j.size : 0, payload: (j.payload ?? {}) as Payload, json: j };
}

function payloadBytes(p: Payload): Uint8Array {
  if (p.hex !== undefined) return hexToBytes(p.hex);
  if (p.base64 !== undefined) return base64ToBytes(p.base64);
  return new TextEncoder().encode(p.text ?? '');
}

function hexOf(b: Uint8Array, max = 4096): string {
  let out = '';
  for (let i = 0; i < Math.min(b.length, max); i++) out += (i ? (i % 16 === 0 ? '\n' : ' ') : '') + b[i].toString(16).padStart(2, '0');
  return b.length > max ? `${out} …` : out;
}

/** The payload as the chosen view shows it: text (bytes that are not UTF-8 as hex), JSON pretty-printed when it parses, or hex. */
export function renderPayload(p: Payload, view: View): string {
  if (view === 'hex') return hexOf(payloadBytes(p));
  const text = p.text ?? (p.hex !== undefined || p.base64 !== undefined ? null : '');
  if (text === null) return `(binary) ${hexOf(payloadBytes(p), 64)}`;
  if (view === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

function preview(p: Payload, view: View): string {
  const s = renderPayload(p, view === 'json' ? 'text' : view);
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
}

function sizeText(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

interface Node {
  name: string;
  topic: string;
  count: number;
  last?: FeedMessage;
  children: Map<string, Node>;
}

/** Counts every message since the session started (not only those still held for the table). */
function useTopicTree(messages: FeedMessage[]): Node {
  const root = useRef<Node>({ name: '', topic: '', count: 0, children: new Map() });
  const seen = useRef(0);
  return useMemo(() => {
    for (const m of messages) {
      if (m.n <= seen.current) continue;
      seen.current = m.n;
      let at = root.current;
      at.count++;
      const levels = m.topic.split('/');
      levels.forEach((name, i) => {
        let next = at.children.get(name);
        if (!next) {
          next = { name, topic: levels.slice(0, i + 1).join('/'), count: 0, children: new Map() };
          at.children.set(name, next);
        }
        next.count++;
        at = next;
      });
      at.last = m;
    }
    return { ...root.current };
  }, [messages]);
}

function TreeNode({ node, view, onPick }: { node: Node; view: View; onPick: (topic: string) => void }) {
  const [open, setOpen] = useState(true);
  const kids = [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <li role="treeitem" aria-expanded={kids.length ? open : undefined} aria-label={node.topic} data-topic={node.topic}>
      <span className="row small">
        {kids.length > 0 && (
          <button type="button" className="small" onClick={() => setOpen(!open)} aria-label={`${open ? 'Collapse' : 'Expand'} ${node.topic}`}>
            {open ? '▾' : '▸'}
          </button>
        )}
        <button type="button" className="small mono" onClick={() => onPick(node.topic)} title={`Filter on ${node.topic}`}>
          {node.name || '(empty)'}
        </button>
        <span className="muted" data-count>
          {node.count}
        </span>
        {node.last && <span className="mono muted" data-last>= {preview(node.last.payload, view).slice(0, 60)}</span>}
      </span>
      {open && kids.length > 0 && (
        <ul role="group" style={{ listStyle: 'none', paddingLeft: 14, margin: 0 }}>
          {kids.map((k) => (
            <TreeNode key={k.name} node={k} view={view} onPick={onPick} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function MessageFeed({ messages, dropped }: { messages: SessionMessage[]; dropped: number }) {
  const all = useMemo(() => messages.map(feedMessage).filter((m): m is FeedMessage => m !== null), [messages]);
  const tree = useTopicTree(all);
  const [filter, setFilter] = useState('');
  const [view, setView] = useState<View>('text');
  const [paused, setPaused] = useState<FeedMessage[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const source = paused ?? all;
  const f = filter.toLowerCase();
  const shown = source.filter((m) => !f || m.topic.toLowerCase().includes(f) || (m.payload.text ?? '').toLowerCase().includes(f)).slice(-500).reverse();
  const pick = source.find((m) => m.n === selected);
  const topics = countTopics(tree);
  return (
    <div>
      <div className="row" style={{ marginBottom: 6 }}>
        <input aria-label="Filter messages" placeholder="Filter by topic or text…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <label className="small">
          Payload{' '}
          <select aria-label="Payload view" value={view} onChange={(e) => setView(e.target.value as View)}>
            <option value="text">text</option>
            <option value="json">JSON pretty</option>
            <option value="hex">hex</option>
          </select>
        </label>
        <button type="button" className="small" aria-pressed={paused !== null} onClick={() => setPaused(paused ? null : all)}>
          {paused ? `Resume (${all.length - paused.length} new)` : 'Pause'}
        </button>
        <span className="small muted" data-testid="feed-stats">
          {tree.count} messages · {topics} topics{dropped > 0 ? ` · ${dropped} oldest dropped from view` : ''}
        </span>
      </div>
      <div className="row" style={{ alignItems: 'flex-start', gap: 12 }}>
        <div className="table-wrap" style={{ maxHeight: 420, flex: 2 }}>
          <table className="grid" aria-label="Message feed">
            <thead>
              <tr>
                <th>time</th>
                <th>topic</th>
                <th>size</th>
                <th>payload</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((m) => (
                <tr key={m.n} onClick={() => setSelected(m.n === selected ? null : m.n)} style={{ cursor: 'pointer' }} aria-selected={m.n === selected}>
                  <td>{new Date(m.at).toLocaleTimeString()}</td>
                  <td>{m.topic}</td>
                  <td className="num">{sizeText(m.size)}</td>
                  <td>{preview(m.payload, view)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div style={{ flex: 1, minWidth: 220, maxHeight: 420, overflow: 'auto' }}>
          <div className="small muted">Topic tree</div>
          <ul role="tree" aria-label="Topic tree" style={{ listStyle: 'none', paddingLeft: 0, margin: 0 }}>
            {[...tree.children.values()]
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((n) => (
                <TreeNode key={n.name} node={n} view={view} onPick={setFilter} />
              ))}
          </ul>
        </div>
      </div>
      {pick && (
        <div className="section" data-testid="message-detail">
          <h3>
            {pick.topic} · {sizeText(pick.size)}
            {pick.payload.truncated ? ' (preview cut)' : ''}
          </h3>
          <pre className="mono" aria-label="Payload" style={{ whiteSpace: 'pre-wrap', maxHeight: 300, overflow: 'auto' }}>
            {renderPayload(pick.payload, view)}
          </pre>
          <JsonTree value={Object.fromEntries(Object.entries(pick.json).filter(([k]) => k !== 'type' && k !== 'payload'))} />
        </div>
      )}
    </div>
  );
}

function countTopics(n: Node): number {
  let c = n.last && n.topic ? 1 : 0;
  for (const k of n.children.values()) c += countTopics(k);
  return c;
}

