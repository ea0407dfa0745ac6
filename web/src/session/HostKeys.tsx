// SSH host keys as ssh itself treats them, kept in this browser: trust on first use with the fingerprints shown, the
// known key pinned (hostKeyFingerprint) on every later connection, and a warning — never a silent connection — when
// a known host answers with another key. The list is exported and imported as known_hosts lines.
import { useRef, useState } from 'react';
import { download } from '../components.tsx';
import { formatHostPort } from '../form/OperationForm.tsx';
import { runOperation, type ApiError } from '../lib/api.ts';
import { store, useStore, type KnownHost } from '../lib/storage.ts';

export interface ProbedKey {
  algorithm: string;
  type: string;
  bits: number;
  fingerprint: string;
  publicKey: string;
}

/** The server's host keys, one per type it has (the ssh probe operation), without credentials. */
export async function probeHostKeys(host: string, port: number): Promise<{ keys: ProbedKey[]; error?: ApiError }> {
  const a = await runOperation('ssh', 'probe', { host, port });
  if (!a.ok) return { keys: [], error: a.error ?? { code: 'closed', message: 'no answer' } };
  const keys = ((a.result as { hostKeys?: (ProbedKey | { error: string })[] }).hostKeys ?? []).filter((k): k is ProbedKey => 'fingerprint' in k);
  return { keys };
}

export function knownKeys(host: string, port: number): KnownHost[] {
  return store.knownHosts().filter((k) => k.host === host && k.port === port);
}

function Fingerprints({ keys, testId }: { keys: ProbedKey[]; testId: string }) {
  return (
    <ul className="mono small" data-testid={testId}>
      {keys.map((k) => (
        <li key={k.algorithm}>
          {k.type} {k.bits} {k.fingerprint}
        </li>
      ))}
    </ul>
  );
}

/** The first connection to a host: its fingerprints, and a choice. */
export function UnknownHostPrompt({ host, port, keys, onTrust, onCancel }: { host: string; port: number; keys: ProbedKey[]; onTrust: () => void; onCancel: () => void }) {
  return (
    <div className="error-box warn" role="alertdialog" aria-label="Unknown host key">
      <p>
        <b>The authenticity of host {formatHostPort(host, port)} can't be established.</b> This browser has not connected to it before. Compare the
        fingerprints with what the server's administrator gave you (<code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>):
      </p>
      <Fingerprints keys={keys} testId="offered-fingerprints" />
      <div className="row">
        <button
          type="button"
          className="primary"
          onClick={() => {
            for (const k of keys) store.trustHost({ host, port, algorithm: k.algorithm, fingerprint: k.fingerprint, publicKey: k.publicKey });
            onTrust();
          }}
        >
          Trust and connect
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** A known host answered with another key: what was known, what it shows now; the only way on is to forget the old key. */
export function ChangedHostKey({ host, port, now, onForget, onClose }: { host: string; port: number; now: ProbedKey[]; onForget: () => void; onClose: () => void }) {
  const known = knownKeys(host, port);
  return (
    <div className="error-box" role="alert" aria-label="Host key changed">
      <h3 style={{ marginTop: 0 }}>Warning: the host key of {formatHostPort(host, port)} has changed</h3>
      <p>
        Someone could be intercepting the connection (a man-in-the-middle), or the server's key was replaced. No connection was made. Known in this
        browser:
      </p>
      <ul className="mono small" data-testid="known-fingerprints">
        {known.map((k) => (
          <li key={k.algorithm}>
            {k.algorithm} {k.fingerprint}
          </li>
        ))}
      </ul>
      <p>The server shows now:</p>
      <Fingerprints keys={now} testId="new-fingerprints" />
      <div className="row">
        <button
          type="button"
          className="danger"
          onClick={() => {
            store.forgetHost(host, port);
            onForget();
          }}
        >
          Forget the old key
        </button>
        <button type="button" onClick={onClose}>
          Stay disconnected
        </button>
      </div>
    </div>
  );
}

/** known_hosts lines ("[host]:port type key"), as OpenSSH writes them. */
export function toKnownHostsLines(list: KnownHost[]): string {
  return list
    .filter((k) => k.publicKey)
    .map((k) => `${k.port === 22 ? k.host : `[${k.host}]:${k.port}`} ${k.publicKey}`)
    .join('\n');
}

/** The hosts this browser trusts, with forget, export (JSON and known_hosts) and import. */
export function KnownHostsList() {
  const list = useStore(store.knownHosts);
  const file = useRef<HTMLInputElement>(null);
  const [note, setNote] = useState('');
  return (
    <details className="small" style={{ marginTop: 8 }}>
      <summary>Known hosts ({list.length})</summary>
      <table className="grid" aria-label="Known hosts">
        <tbody>
          {list.map((k) => (
            <tr key={`${k.host}:${k.port}:${k.algorithm}`} data-known-host={formatHostPort(k.host, k.port)}>
              <td className="mono">{formatHostPort(k.host, k.port)}</td>
              <td className="mono">{k.algorithm}</td>
              <td className="mono">{k.fingerprint}</td>
              <td>
                <button type="button" className="small" onClick={() => store.forgetHost(k.host, k.port)}>
                  Forget
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row" style={{ marginTop: 6 }}>
        <button type="button" className="small" onClick={() => download('portolan-known-hosts.json', JSON.stringify(list, null, 2), 'application/json')}>
          Export JSON
        </button>
        <button type="button" className="small" onClick={() => download('known_hosts', toKnownHostsLines(list) + '\n')}>
          Export known_hosts
        </button>
        <button type="button" className="small" onClick={() => file.current?.click()}>
          Import
        </button>
        <input
          ref={file}
          type="file"
          accept="application/json"
          hidden
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (!f) return;
            try {
              const parsed = JSON.parse(await f.text()) as KnownHost[];
              const valid = parsed.filter((k) => k && typeof k.host === 'string' && typeof k.port === 'number' && typeof k.fingerprint === 'string');
              const others = store.knownHosts().filter((x) => !valid.some((k) => k.host === x.host && k.port === x.port && k.algorithm === x.algorithm));
              store.setKnownHosts([...valid, ...others]);
              setNote(`Imported ${valid.length} host key${valid.length === 1 ? '' : 's'}.`);
            } catch {
              setNote('That file is not an exported list of known hosts.');
            }
            e.target.value = '';
          }}
        />
        <span role="status">{note}</span>
      </div>
    </details>
  );
}
