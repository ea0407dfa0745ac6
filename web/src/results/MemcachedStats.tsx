// memcached stats as a dashboard: hit ratio, evictions, memory against its limit, items and connections (stats),
// and the slab classes as a table (stats slabs) — the numbers an operator looks at first.

type Stats = Record<string, string>;

const num = (s: Stats, k: string): number | undefined => (s[k] === undefined ? undefined : Number(s[k]));

function humanBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

/** get_hits / (get_hits + get_misses), as a percentage with one decimal; null before any get. */
export function hitRatio(s: Stats): string | null {
  const hits = num(s, 'get_hits') ?? 0;
  const misses = num(s, 'get_misses') ?? 0;
  return hits + misses === 0 ? null : `${((hits / (hits + misses)) * 100).toFixed(1)} %`;
}

function Tile({ label, value, note, tone }: { label: string; value: string; note?: string; tone?: 'warn' }) {
  return (
    <div className="panel" data-tile={label} style={{ minWidth: 150, padding: 10 }}>
      <div className="small muted">{label}</div>
      <div style={{ fontSize: 22, fontWeight: 600 }} className={tone === 'warn' ? 'v-warn' : undefined}>
        {value}
      </div>
      {note && <div className="small muted">{note}</div>}
    </div>
  );
}

export function MemcachedStats({ result }: { result: { group: string; stats: Stats; bySlab?: Record<string, Stats> } }) {
  const s = result.stats;
  if (result.group === 'general') {
    const used = num(s, 'bytes') ?? 0;
    const limit = num(s, 'limit_maxbytes') ?? 0;
    const evictions = num(s, 'evictions') ?? 0;
    const ratio = hitRatio(s);
    return (
      <section aria-label="Dashboard" className="row" style={{ flexWrap: 'wrap', gap: 10, marginBottom: 12 }}>
        <Tile label="Hit ratio" value={ratio ?? '–'} note={`${s.get_hits ?? 0} hits, ${s.get_misses ?? 0} misses`} />
        <Tile label="Evictions" value={String(evictions)} tone={evictions > 0 ? 'warn' : undefined} note="items removed to make room" />
        <div className="panel" data-tile="Memory" style={{ minWidth: 220, padding: 10 }}>
          <div className="small muted">Memory</div>
          <div style={{ fontSize: 22, fontWeight: 600 }}>{humanBytes(used)}</div>
          <div className="small muted">of {humanBytes(limit)}</div>
          <meter min={0} max={limit || 1} value={used} style={{ width: '100%' }} aria-label="Memory used" />
        </div>
        <Tile label="Items" value={s.curr_items ?? '–'} note={`${s.total_items ?? 0} stored since start`} />
        <Tile label="Connections" value={s.curr_connections ?? '–'} note={`${s.total_connections ?? 0} since start`} />
        {s.uptime && <Tile label="Uptime" value={uptime(Number(s.uptime))} note={`memcached ${s.version ?? ''}`} />}
      </section>
    );
  }
  if (result.group === 'slabs' && result.bySlab) {
    const cols = ['chunk_size', 'chunks_per_page', 'total_pages', 'total_chunks', 'used_chunks', 'free_chunks', 'mem_requested', 'get_hits', 'cmd_set'];
    return (
      <section aria-label="Slab classes" style={{ marginBottom: 12 }}>
        <div className="table-wrap">
          <table className="grid" aria-label="Slab classes">
            <thead>
              <tr>
                <th scope="col">class</th>
                {cols.map((c) => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Object.entries(result.bySlab)
                .sort(([a], [b]) => Number(a) - Number(b))
                .map(([id, f]) => (
                  <tr key={id} data-slab={id}>
                    <td className="num">{id}</td>
                    {cols.map((c) => (
                      <td key={c} className="num">
                        {c === 'chunk_size' || c === 'mem_requested' ? (f[c] === undefined ? '–' : humanBytes(Number(f[c]))) : (f[c] ?? '–')}
                      </td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        <p className="small muted">
          {s.active_slabs ?? Object.keys(result.bySlab).length} active classes, {humanBytes(Number(s.total_malloced ?? 0))} allocated
        </p>
      </section>
    );
  }
  return null;
}
