// What a process costs, read from /proc: CPU time at nanosecond resolution (schedstat, summed over
// threads) rather than the 10 ms ticks of /proc/<pid>/stat, resident memory, and process trees.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/**
 * CPU time of a process in ms: the sum over its live threads of the time they ran (schedstat, ns).
 * Threads that exit between two readings take their time with them; workerd's threads live as long
 * as the process.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited
    }
  }
  return ns / 1e6;
}

/**
 * CPU time of a process's main thread in ms (schedstat, ns). In workerd that is the thread that runs
 * the isolate (JavaScript, and the event loop's HTTP and socket work); V8's helper threads (concurrent
 * GC, compilation) are the rest of cpuMs().
 */
export function mainThreadCpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

/**
 * CPU time of a process and all its descendants (a forking relay such as websockify): schedstat of every
 * live process, plus the root's cutime + cstime for children it has already reaped (tick resolution).
 */
export function treeCpuMs(root: number): number {
  let ms = 0;
  for (const pid of [root, ...descendants(root)]) {
    try {
      ms += cpuMs(pid);
    } catch {
      // exited
    }
  }
  try {
    const f = readFileSync(`/proc/${root}/stat`, 'utf8').split(') ')[1].split(' ');
    ms += (Number(f[13]) + Number(f[14])) * TICK_MS;
  } catch {
    // exited
  }
  return ms;
}

/** Resident set size in KiB. */
export function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

export function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    }
  } catch {
    // exited
  }
  return out;
}

export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = children(pid);
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...children(p));
  }
  return out;
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The two workerd processes of a `wrangler dev`: `proxy` runs wrangler's ProxyWorker on the port users
 * call and forwards every request (and WebSocket) to `runtime`, which runs miniflare's entry worker and
 * the Worker itself. wrangler restarts `runtime` whenever a source file changes, so look it up again
 * before each measurement.
 */
export function wranglerWorkerd(root: number): { proxy: number; runtime: number } {
  let proxy = 0;
  let runtime = 0;
  for (const pid of descendants(root)) {
    const args = cmdline(pid);
    if (!args[0]?.endsWith('/workerd')) continue;
    if (args.some((a) => a.startsWith('--inspector-addr'))) runtime = pid;
    else proxy = pid;
  }
  if (!proxy || !runtime) throw new Error(`wrangler dev under ${root}: workerd processes not found (proxy ${proxy}, runtime ${runtime})`);
  return { proxy, runtime };
}
