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

const KEYS = { history: 'portolan.history', targets: 'portolan.targets', theme: 'portolan.theme' } as const;
const MAX_HISTORY = 200;
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
    write(KEYS.history, [entry, ...store.history()].slice(0, MAX_HISTORY));
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
