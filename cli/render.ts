// How the CLI shows things: results as indented text, colors (off with NO_COLOR, --no-color or no TTY),
// and a progress indicator on a terminal while an operation runs.

export interface Style {
  enabled: boolean;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/** Colors on a TTY unless NO_COLOR is set (no-color.org: any non-empty value) or --no-color; FORCE_COLOR forces them. */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, noColorFlag: boolean): Style {
  const noColor = noColorFlag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '');
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0';
  const enabled = !noColor && (forced || !!stream.isTTY);
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { enabled, red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v === '' ? '""' : v;
  return String(v);
}

/** A result as indented `key: value` text; multi-line strings become indented blocks. */
export function renderValue(value: unknown, indent = ''): string {
  const lines: string[] = [];
  const emit = (v: unknown, pad: string, lead: string) => {
    if (Array.isArray(v)) {
      if (v.length === 0) return void lines.push(`${lead}[]`.trimEnd());
      if (lead.trim()) lines.push(lead.trimEnd());
      for (const item of v) {
        if (item !== null && typeof item === 'object') {
          const inner = renderValue(item, `${pad}  `).split('\n');
          lines.push(`${pad}- ${inner[0].trimStart()}`, ...inner.slice(1));
        } else emitScalar(item, `${pad}  `, `${pad}- `);
      }
      return;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) return void lines.push(`${lead}{}`.trimEnd());
      if (lead.trim()) lines.push(lead.trimEnd());
      const inner = lead.trim() ? `${pad}  ` : pad;
      for (const [k, x] of entries) {
        const key = PLAIN_KEY.test(k) ? k : JSON.stringify(k);
        emit(x, inner, `${inner}${key}: `);
      }
      return;
    }
    emitScalar(v, `${pad}  `, lead);
  };
  const emitScalar = (v: unknown, pad: string, lead: string) => {
    const text = scalar(v);
    if (typeof v === 'string' && text.includes('\n')) {
      lines.push(`${lead}|`);
      for (const l of text.replace(/\n$/, '').split('\n')) lines.push(`${pad}${l}`);
    } else lines.push(`${lead}${text}`);
  };
  emit(value, indent, indent);
  return lines.join('\n');
}

export interface Progress {
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A spinner with the elapsed time on `stream`, shown after `delayMs` and erased when stopped. */
export function startProgress(stream: NodeJS.WritableStream, label: string, delayMs = 300): Progress {
  const started = Date.now();
  let frame = 0;
  let shown = false;
  const draw = () => {
    shown = true;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label} ${secs} s`);
  };
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    draw();
    timer = setInterval(draw, 100);
  }, delayMs);
  return {
    stop() {
      clearTimeout(first);
      if (timer) clearInterval(timer);
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
