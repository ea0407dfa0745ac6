// The one place core code starts timers: deadlines as AbortSignals, always disposed by their owner.
// (Node's AbortSignal.timeout does not keep the process alive, so a CLI waiting on it would exit early.)
import { PortolanError } from './errors.ts';

export interface Deadline {
  signal: AbortSignal;
  dispose(): void;
}

/** A signal that aborts when `parent` does, or after `ms` with a PortolanError of `code`. */
export function deadline(parent: AbortSignal | undefined, ms: number, code: 'connect_timeout' | 'io_timeout', message: string): Deadline {
  const controller = new AbortController();
  const fire = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onParent = () => fire(parent!.reason);
  if (parent?.aborted) fire(parent.reason);
  parent?.addEventListener('abort', onParent, { once: true });
  const timer = setTimeout(() => fire(new PortolanError(code, message)), ms);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `fn` after `ms` unless the returned function cancels it first. The timer does not keep a Node process alive. */
export function later(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, Math.max(0, ms));
  (timer as { unref?: () => void }).unref?.();
  return () => clearTimeout(timer);
}

/** Waits for `p` to settle, but no longer than `ms`: for clean-up that must not hold up an answer. */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}
