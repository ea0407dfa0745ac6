// An IMAP message as a mail reader shows it: headers, the MIME tree, text parts as text, HTML parts sanitized in a
// sandboxed iframe (no scripts, no same-origin, a CSP that loads nothing remote unless asked), attachments
// downloaded with the streamed FETCH-as-file (BINARY) transfer.
import { useMemo, useState } from 'react';
import { download, ErrorLine } from '../components.tsx';
import { runOperation, type ApiError } from '../lib/api.ts';
import { downloadFile, humanBytes, TransferError } from '../files/transfer.ts';
import { messageDocument, sanitizeHtml } from './sanitize.ts';

interface Address {
  name: string | null;
  address: string | null;
}

interface Part {
  section: string;
  type: string;
  subtype: string;
  params: Record<string, string>;
  encoding: string | null;
  size: number | null;
  disposition: { type: string; params: Record<string, string> } | null;
  id: string | null;
  parts: Part[] | null;
}

export interface ImapMessage {
  mailbox: string;
  uid: number;
  flags: string[];
  internalDate: string | null;
  size: number | null;
  envelope: { date: string | null; subject: string | null; from: Address[]; to: Address[]; cc: Address[] };
  bodyStructure: Part;
  texts: { section: string; subtype: string; charset: string; text: string; truncated: boolean }[];
  inline: { section: string; contentId: string; type: string; base64: string }[];
  attachments: { section: string; type: string; disposition: string | null; filename: string | null; contentId: string | null; size: number | null }[];
}

export const isImapMessage = (v: unknown): v is ImapMessage => !!v && typeof v === 'object' && 'bodyStructure' in v && 'texts' in v && 'envelope' in v;

const who = (list: Address[]) => list.map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? ''))).join(', ');

/** The input a message was read with, less what names the message: the target, login and mailbox another operation needs. */
function connection(input: Record<string, unknown>): Record<string, unknown> {
  const { uid: _uid, uids: _uids, maxTextBytes: _m, limit: _l, envelope: _e, flags: _f, bodyStructure: _b, internalDate: _i, size: _s, body: _body, partial: _p, ...rest } = input;
  return rest;
}

function MimeNode({ part, depth }: { part: Part; depth: number }) {
  const [open, setOpen] = useState(depth < 3);
  const filename = part.disposition?.params.filename ?? part.params.name;
  const label = (
    <span className="row small" style={{ gap: 8, flexWrap: 'wrap' }}>
      <b className="mono">
        {part.type}/{part.subtype}
      </b>
      <span className="muted">section {part.section || '(whole)'}</span>
      {part.size !== null && <span className="muted">{humanBytes(part.size)}</span>}
      {part.encoding && <span className="muted">{part.encoding.toLowerCase()}</span>}
      {part.disposition && <span className="tag">{part.disposition.type}</span>}
      {filename && <span className="mono">{filename}</span>}
      {part.params.charset && <span className="muted">charset {part.params.charset}</span>}
    </span>
  );
  const children = part.parts && part.type !== 'message' ? part.parts : null;
  return (
    <li role="treeitem" aria-expanded={children ? open : undefined} data-section={part.section} data-type={`${part.type}/${part.subtype}`} style={{ margin: '3px 0' }}>
      {children ? (
        <button type="button" className="link" style={{ padding: 0, color: 'inherit' }} onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'} {label}
        </button>
      ) : (
        label
      )}
      {children && open && (
        <ul role="group" style={{ listStyle: 'none', paddingLeft: 18, borderLeft: '1px solid var(--border, #444)' }}>
          {children.map((c, i) => (
            <MimeNode key={i} part={c} depth={depth + 1} />
          ))}
        </ul>
      )}
    </li>
  );
}

function HtmlPart({ html, section, cid }: { html: string; section: string; cid: Map<string, string> }) {
  const [remote, setRemote] = useState(false);
  const clean = useMemo(() => sanitizeHtml(html, { cid, remoteImages: remote }), [html, cid, remote]);
  return (
    <div>
      <div className="row small" style={{ marginBottom: 6, gap: 12 }}>
        <label className="row">
          <input type="checkbox" checked={remote} onChange={(e) => setRemote(e.target.checked)} /> Show remote images
        </label>
        {clean.remoteImages > 0 && !remote && <span className="muted">{clean.remoteImages} remote image{clean.remoteImages === 1 ? '' : 's'} blocked</span>}
        {(clean.removed.elements > 0 || clean.removed.attributes > 0) && (
          <span className="muted" data-testid="sanitized">
            sanitized: {clean.removed.elements} element{clean.removed.elements === 1 ? '' : 's'}, {clean.removed.attributes} attribute{clean.removed.attributes === 1 ? '' : 's'} removed
          </span>
        )}
      </div>
      <iframe
        key={remote ? 'remote' : 'local'}
        title={`HTML part ${section}`}
        sandbox=""
        referrerPolicy="no-referrer"
        srcDoc={messageDocument(clean.html, remote)}
        style={{ width: '100%', height: 420, border: '1px solid var(--border, #444)', background: '#fff', resize: 'vertical' }}
      />
    </div>
  );
}

function Attachment({ a, input, uid }: { a: ImapMessage['attachments'][number]; input: Record<string, unknown>; uid: number }) {
  const [state, setState] = useState<{ busy: boolean; error?: ApiError; bytes?: number }>({ busy: false });
  const name = a.filename ?? `part ${a.section}`;
  const get = async () => {
    setState({ busy: true });
    try {
      const got = await downloadFile('imap', 'fetch', { ...connection(input), uids: String(uid), body: a.section }, () => undefined).done;
      download(got.name, got.blob, got.blob.type);
      setState({ busy: false, bytes: got.size });
    } catch (e) {
      setState({ busy: false, error: e instanceof TransferError ? e.error : { code: 'error', message: String(e) } });
    }
  };
  return (
    <li className="row small" data-attachment={a.section} style={{ gap: 10, margin: '4px 0' }}>
      <button type="button" className="small" onClick={() => void get()} disabled={state.busy} aria-label={`Download ${name}`}>
        {state.busy ? 'Downloading…' : 'Download'}
      </button>
      <span className="mono">{name}</span>
      <span className="muted">{a.type}</span>
      <span className="muted">{humanBytes(a.size)}{a.size !== null ? ' encoded' : ''}</span>
      {a.disposition && <span className="tag">{a.disposition}</span>}
      <span className="muted">section {a.section}</span>
      {state.bytes !== undefined && <span data-testid="downloaded">saved, {humanBytes(state.bytes)}</span>}
      {state.error && <ErrorLine error={state.error} />}
    </li>
  );
}

export function MessageView({ message, input }: { message: ImapMessage; input?: Record<string, unknown> }) {
  const env = message.envelope;
  const cid = useMemo(() => new Map(message.inline.map((p) => [p.contentId, `data:${p.type};base64,${p.base64}`])), [message.inline]);
  const plain = message.texts.filter((t) => t.subtype === 'plain');
  const html = message.texts.filter((t) => t.subtype === 'html');
  const [view, setView] = useState<'html' | 'plain'>(html.length > 0 ? 'html' : 'plain');
  const shown = view === 'html' ? html : plain;
  return (
    <article className="section" aria-label="Message" data-testid="imap-message">
      <dl className="kv" aria-label="Headers">
        {(
          [
            ['From', who(env.from)],
            ['To', who(env.to)],
            ...(env.cc.length ? [['Cc', who(env.cc)]] : []),
            ['Date', env.date ?? ''],
            ['Subject', env.subject ?? ''],
          ] as [string, string][]
        ).map(([k, v]) => (
          <div key={k} style={{ display: 'contents' }}>
            <dt>{k}</dt>
            <dd data-header={k}>{v}</dd>
          </div>
        ))}
      </dl>
      <div className="row small muted" style={{ gap: 12, margin: '6px 0' }}>
        <span>UID {message.uid}</span>
        <span>{humanBytes(message.size)}</span>
        {message.flags.length > 0 && <span>{message.flags.join(' ')}</span>}
      </div>
      {html.length > 0 && plain.length > 0 && (
        <div className="tabs" role="tablist" aria-label="Body">
          <button type="button" role="tab" aria-selected={view === 'html'} onClick={() => setView('html')}>
            HTML
          </button>
          <button type="button" role="tab" aria-selected={view === 'plain'} onClick={() => setView('plain')}>
            Plain text
          </button>
        </div>
      )}
      {shown.map((t) => (
        <section key={t.section} className="section" aria-label={`Part ${t.section} text/${t.subtype}`} data-part={t.section}>
          {t.subtype === 'html' ? <HtmlPart html={t.text} section={t.section} cid={cid} /> : <pre className="textblock" data-testid="plain-text">{t.text}</pre>}
          {t.truncated && <p className="small v-warn">Cut short: the part is longer than maxTextBytes.</p>}
        </section>
      ))}
      {message.texts.length === 0 && <p className="muted small">No text part to show.</p>}
      <section className="section" aria-label="Attachments">
        <h3>
          Attachments and other parts <span className="tag">{message.attachments.length}</span>
        </h3>
        {message.attachments.length === 0 ? (
          <p className="muted small">None.</p>
        ) : input ? (
          <ul style={{ listStyle: 'none', padding: 0 }}>
            {message.attachments.map((a) => (
              <Attachment key={a.section} a={a} input={{ ...input, mailbox: message.mailbox }} uid={message.uid} />
            ))}
          </ul>
        ) : (
          <p className="muted small">Run the operation from this page to download parts.</p>
        )}
      </section>
      <section className="section" aria-label="MIME tree">
        <h3>MIME tree</h3>
        <ul role="tree" style={{ listStyle: 'none', paddingLeft: 0, margin: 0 }}>
          <MimeNode part={message.bodyStructure} depth={0} />
        </ul>
      </section>
    </article>
  );
}

/** The fetch result's messages with an Open button each: the message read with the `message` operation, shown below. */
export function ImapMessageList({ messages, input }: { messages: { uid: number | null; envelope?: { subject: string | null; from: Address[]; date: string | null } }[]; input: Record<string, unknown> }) {
  const [open, setOpen] = useState<{ uid: number; message?: ImapMessage; error?: ApiError } | null>(null);
  const read = async (uid: number) => {
    setOpen({ uid });
    const a = await runOperation('imap', 'message', { ...connection(input), uid });
    setOpen(a.ok ? { uid, message: a.result as ImapMessage } : { uid, error: a.error });
  };
  return (
    <section className="section" aria-label="Messages">
      <h3>Messages</h3>
      <ul style={{ listStyle: 'none', padding: 0 }}>
        {messages
          .filter((m) => m.uid !== null)
          .map((m) => (
            <li key={m.uid} className="row small" style={{ gap: 10, margin: '3px 0' }}>
              <button type="button" className="small" aria-label={`Open message ${m.uid}`} onClick={() => void read(m.uid!)}>
                Open
              </button>
              <span className="muted">{m.uid}</span>
              <span>{m.envelope ? who(m.envelope.from) : ''}</span>
              <b>{m.envelope?.subject ?? ''}</b>
              <span className="muted">{m.envelope?.date ?? ''}</span>
            </li>
          ))}
      </ul>
      {open && (open.message ? <MessageView message={open.message} input={input} /> : open.error ? <ErrorLine error={open.error} /> : <p className="muted">Reading message {open.uid}…</p>)}
    </section>
  );
}
