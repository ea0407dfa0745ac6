// The transfers a page runs (docs/files.md, the WebSocket transfer): a list with progress, rate, ETA, state and
// cancel, shared by the file browser and the run page; and the run page's controls for an operation that moves a
// file (download it as a file, upload one from a picker), streamed of any size.
import { useRef, useState } from 'react';
import { download } from '../components.tsx';
import { FilePick } from '../form/fields.tsx';
import type { OperationInfo, ProtocolInfo } from '../lib/api.ts';
import { downloadFile, humanBytes, humanDuration, TransferError, uploadFile, type Downloaded, type Progress, type Transfer } from './transfer.ts';

export interface TransferRow {
  id: number;
  kind: 'download' | 'upload';
  name: string;
  progress: Progress;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  message?: string;
  handle: Transfer<unknown>;
}

export interface Transfers {
  rows: TransferRow[];
  /** Starts a transfer and lists it; `after` gets its value when it succeeds. */
  track(kind: TransferRow['kind'], name: string, start: (onProgress: (pr: Progress) => void) => Transfer<unknown>, after: (value: unknown) => void): void;
  /** Drops the finished ones from the list. */
  clear(): void;
}

export function useTransfers(): Transfers {
  const [rows, setRows] = useState<TransferRow[]>([]);
  const nextId = useRef(1);
  return {
    rows,
    track(kind, name, start, after) {
      const id = nextId.current++;
      const update = (patch: Partial<TransferRow>) => setRows((ts) => ts.map((t) => (t.id === id ? { ...t, ...patch } : t)));
      const handle = start((progress) => update({ progress }));
      setRows((ts) => [...ts, { id, kind, name, progress: { bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null }, state: 'running', handle }]);
      handle.done.then(
        (value) => {
          update({ state: 'done' });
          after(value);
        },
        (e: unknown) => {
          const err = e instanceof TransferError ? e.error : { code: 'error', message: String(e) };
          update({ state: err.message === 'cancelled by the client' ? 'cancelled' : 'failed', message: err.message });
        },
      );
    },
    clear: () => setRows((ts) => ts.filter((t) => t.state === 'running')),
  };
}

/**
 * For an operation that declares a transfer: "Download as a file" (the browser saves what the operation
 * streams) or "Upload a file…" (the picked file streams in place of the content field). The operation's
 * JSON result goes to `onResult`.
 */
export function TransferControls({ p, op, input, onResult }: { p: ProtocolInfo; op: OperationInfo; input: () => Record<string, unknown>; onResult: (result: unknown) => void }) {
  const transfers = useTransfers();
  const transfer = op.transfer;
  if (!transfer) return null;
  const label = (inp: Record<string, unknown>) => String(inp.path ?? inp.table ?? op.name);
  return (
    <div className="section" aria-label="File transfer">
      <div className="row small">
        {transfer.direction === 'download' ? (
          <button
            type="button"
            className="small"
            onClick={() => {
              const inp = input();
              transfers.track('download', label(inp), (onProgress) => downloadFile(p.id, op.name, inp, onProgress), (v) => {
                const got = v as Downloaded;
                download(got.name, got.blob, got.blob.type);
                onResult(got.result);
              });
            }}
          >
            Download as a file
          </button>
        ) : (
          <FilePick
            label="Upload a file…"
            onFile={(f) => {
              const { [transfer.content ?? 'content']: _content, ...inp } = input();
              transfers.track('upload', f.name, (onProgress) => uploadFile(p.id, op.name, inp, f, onProgress), onResult);
            }}
          />
        )}
        <span className="muted">{transfer.direction === 'download' ? 'streamed to a file of any size' : `streamed from the file, of any size, instead of ${transfer.content ?? 'content'}`}</span>
      </div>
      <TransferList transfers={transfers} />
    </div>
  );
}

/** The transfers of a page with their progress, rate, ETA, state and cancel; nothing before the first. */
export function TransferList({ transfers }: { transfers: Transfers }) {
  const rows = transfers.rows;
  if (rows.length === 0) return null;
  return (
    <section className="section transfers" aria-label="Transfers">
      <div className="row">
        <h3 style={{ margin: 0 }}>Transfers</h3>
        <span className="spacer" />
        <button type="button" className="small" onClick={transfers.clear}>
          Clear finished
        </button>
      </div>
      <ul>
        {rows.map((t) => {
          const pct = t.progress.total ? Math.min(100, (t.progress.bytes / t.progress.total) * 100) : null;
          return (
            <li key={t.id} data-transfer={t.name} data-state={t.state}>
              <div className="row">
                <span>{t.kind === 'download' ? '↓' : '↑'}</span>
                <b>{t.name}</b>
                <span className="spacer" />
                <span className="small muted">
                  {humanBytes(t.progress.bytes)}
                  {t.progress.total !== null ? ` of ${humanBytes(t.progress.total)}` : ''}
                  {t.state === 'running' ? ` · ${humanBytes(t.progress.bytesPerSecond)}/s · ETA ${humanDuration(t.progress.etaSeconds)}` : ''}
                </span>
                <span className={`badge ${t.state === 'done' ? 'ok' : t.state === 'running' ? 'info' : t.state === 'cancelled' ? 'warn' : 'bad'}`}>{t.state}</span>
                {t.state === 'running' && (
                  <button type="button" className="small" onClick={() => t.handle.cancel()} aria-label={`Cancel ${t.name}`}>
                    Cancel
                  </button>
                )}
              </div>
              <progress max={100} value={pct ?? undefined} aria-label={`${t.name} progress`} />
              {t.message && <div className="small field-error">{t.message}</div>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
