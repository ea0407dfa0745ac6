// History, saved targets and preferences in localStorage. Secrets stay out unless a saved target opts in.
import { useCallback, useEffect, useState } from 'react';

export interface HistoryEntry {
  id: string;
  at: number;
  protocol: string;
  operation: string;
  /** The input without secrets. */
  input: Record<string, unknown>;
  ok: boolean;
  code: string;
  totalMs?: number;
  summary?: string;
  /** The answer's result (or error), kept while it is small: history is capped in size. */
  response?: unknown;
  /** The response was larger than one entry may keep. */
  responseDropped?: number;
}

/** A saved request of a collection: an operation and its input, which may hold {{variables}}. */
export interface SavedRequest {
  id: string;
  name: string;
  protocol: string;
  operation: string;
  input: Record<string, unknown>;
}

/** Saved requests with variables ({{host}}), as Postman's collections: exported and imported as JSON. */
export interface Collection {
  id: string;
  name: string;
  variables: Record<string, string>;
  requests: SavedRequest[];
  at: number;
}

export interface SavedTarget {
  id: string;
  name: string;
  host: string;
  port?: number;
  protocol?: string;
  operation?: string;
  /** Non-secret fields to prefill. */
  fields: Record<string, unknown>;
  /** Opt-in per target: only then are secrets kept, in this browser only. */
  keepSecrets: boolean;
  secrets?: Record<string, string>;
  at: number;
}

const KEYS = { history: 'portolan.history', targets: 'portolan.targets', theme: 'portolan.theme', collections: 'portolan.collections', knownHosts: 'portolan.knownHosts' } as const;
const MAX_HISTORY = 200;
/** One entry keeps its response up to this many characters of JSON; the whole history up to MAX_HISTORY_CHARS. */
export const MAX_RESPONSE_CHARS = 64 * 1024;
export const MAX_HISTORY_CHARS = 2 * 1024 * 1024;

/** Keeps the newest entries whose responses fit the total; older ones keep their line but lose the response. */
export function capHistory(entries: HistoryEntry[]): HistoryEntry[] {
  let used = 0;
  return entries.slice(0, MAX_HISTORY).map((e) => {
    if (e.response === undefined) return e;
    const size = JSON.stringify(e.response).length;
    if (used + size > MAX_HISTORY_CHARS) {
      const { response: _dropped, ...rest } = e;
      return { ...rest, responseDropped: size };
    }
    used += size;
    return e;
  });
}

/** A response as history keeps it: whole when small enough, otherwise only its size. */
export function historyResponse(response: unknown): Pick<HistoryEntry, 'response' | 'responseDropped'> {
  if (response === undefined) return {};
  const size = JSON.stringify(response).length;
  return size <= MAX_RESPONSE_CHARS ? { response } : { responseDropped: size };
}

/** Replaces {{name}} in every string of `input` with the variable's value; unknown names stay as they are. */
export function substituteVariables<T>(input: T, variables: Record<string, string>): T {
  if (typeof input === 'string') return input.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (m, name: string) => variables[name] ?? m) as T;
  if (Array.isArray(input)) return input.map((x) => substituteVariables(x, variables)) as T;
  if (input && typeof input === 'object') return Object.fromEntries(Object.entries(input).map(([k, v]) => [k, substituteVariables(v, variables)])) as T;
  return input;
}

/** The {{names}} used anywhere in `input`. */
export function variablesIn(input: unknown): string[] {
  const names = new Set<string>();
  JSON.stringify(input ?? null).replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_m, name: string) => {
    names.add(name);
    return '';
  });
  return [...names];
}

/** A host key this browser trusts for host:port (trust on first use, as ssh's known_hosts). */
export interface KnownHost {
  host: string;
  port: number;
  algorithm: string;
  fingerprint: string;
  /** The public key as known_hosts writes it ("ssh-ed25519 AAAA..."), for export. */
  publicKey?: string;
  at: number;
}
const listeners = new Set<() => void>();

function newId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function read<T>(key: string, fallback: T): T {
  try {
    const text = localStorage.getItem(key);
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
}

function write(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: history is a convenience
  }
  listeners.forEach((l) => l());
}

export const store = {
  history: (): HistoryEntry[] => read(KEYS.history, []),
  addHistory(e: Omit<HistoryEntry, 'id' | 'at'>): void {
    const entry: HistoryEntry = { ...e, id: newId(), at: Date.now() };
    write(KEYS.history, capHistory([entry, ...store.history()]));
  },
  /** Merges exported entries (by id), newest first. */
  importHistory(entries: HistoryEntry[]): number {
    const have = new Set(store.history().map((h) => h.id));
    const fresh = entries.filter((e) => e && typeof e.id === 'string' && typeof e.protocol === 'string' && typeof e.at === 'number' && !have.has(e.id));
    write(KEYS.history, capHistory([...store.history(), ...fresh].sort((a, b) => b.at - a.at)));
    return fresh.length;
  },
  removeHistory(id: string): void {
    write(KEYS.history, store.history().filter((h) => h.id !== id));
  },
  clearHistory(): void {
    write(KEYS.history, []);
  },
  targets: (): SavedTarget[] => read(KEYS.targets, []),
  saveTarget(t: Omit<SavedTarget, 'id' | 'at'> & { id?: string }): SavedTarget {
    const saved: SavedTarget = { ...t, id: t.id ?? newId(), at: Date.now() };
    if (!saved.keepSecrets) delete saved.secrets;
    write(KEYS.targets, [saved, ...store.targets().filter((x) => x.id !== saved.id)]);
    return saved;
  },
  removeTarget(id: string): void {
    write(KEYS.targets, store.targets().filter((t) => t.id !== id));
  },
  collections: (): Collection[] => read(KEYS.collections, []),
  saveCollection(c: Omit<Collection, 'id' | 'at'> & { id?: string }): Collection {
    const saved: Collection = { ...c, id: c.id ?? newId(), at: Date.now() };
    write(KEYS.collections, [saved, ...store.collections().filter((x) => x.id !== saved.id)]);
    return saved;
  },
  addRequest(collectionId: string, r: Omit<SavedRequest, 'id'>): void {
    const c = store.collections().find((x) => x.id === collectionId);
    if (c) store.saveCollection({ ...c, requests: [...c.requests, { ...r, id: newId() }] });
  },
  removeCollection(id: string): void {
    write(KEYS.collections, store.collections().filter((c) => c.id !== id));
  },
  /** Adds collections from an export; one with the same id is replaced. */
  importCollections(list: Collection[]): number {
    const valid = list.filter((c) => c && typeof c.name === 'string' && Array.isArray(c.requests));
    const ids = new Set(valid.map((c) => c.id));
    write(KEYS.collections, [...valid.map((c) => ({ ...c, id: c.id ?? newId(), variables: c.variables ?? {}, at: c.at ?? Date.now() })), ...store.collections().filter((c) => !ids.has(c.id))]);
    return valid.length;
  },
  knownHosts: (): KnownHost[] => read(KEYS.knownHosts, []),
  trustHost(k: Omit<KnownHost, 'at'>): void {
    write(KEYS.knownHosts, [{ ...k, at: Date.now() }, ...store.knownHosts().filter((x) => !(x.host === k.host && x.port === k.port && x.algorithm === k.algorithm))]);
  },
  forgetHost(host: string, port: number): void {
    write(KEYS.knownHosts, store.knownHosts().filter((x) => !(x.host === host && x.port === port)));
  },
  setKnownHosts(list: KnownHost[]): void {
    write(KEYS.knownHosts, list);
  },
  theme: (): 'dark' | 'light' | 'system' => read(KEYS.theme, 'system'),
  setTheme(t: 'dark' | 'light' | 'system'): void {
    write(KEYS.theme, t);
  },
};

/** Re-renders when any stored value changes (in this tab or another). */
export function useStore<T>(get: () => T): T {
  const [value, setValue] = useState(get);
  const refresh = useCallback(() => setValue(get()), [get]);
  useEffect(() => {
    listeners.add(refresh);
    const onStorage = (e: StorageEvent) => e.key?.startsWith('portolan.') && refresh();
    window.addEventListener('storage', onStorage);
    return () => {
      listeners.delete(refresh);
      window.removeEventListener('storage', onStorage);
    };
  }, [refresh]);
  return value;
}
