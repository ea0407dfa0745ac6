// A terminal recording (asciicast v2) played back in the page with asciinema-player — seek on its progress bar or
// with the buttons, change the speed — and downloaded as a .cast file for `asciinema play`.
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { create, type Player } from 'asciinema-player';
import { useEffect, useRef, useState } from 'react';
import { download } from '../components.tsx';

const SPEEDS = [0.5, 1, 2, 4];

export default function Recording({ cast, name }: { cast: string; name: string }) {
  const box = useRef<HTMLDivElement>(null);
  const player = useRef<Player | null>(null);
  const [speed, setSpeed] = useState(1);
  const [time, setTime] = useState('');
  const events = cast.trimEnd().split('\n').length - 1;

  useEffect(() => {
    const p = create({ data: cast }, box.current!, { speed, fit: 'width', idleTimeLimit: 2, terminalFontSize: 'small', controls: true });
    player.current = p;
    const show = () => setTime(`${p.getCurrentTime().toFixed(1)} / ${(p.getDuration() ?? 0).toFixed(1)} s`);
    p.addEventListener('pause', show);
    p.addEventListener('ended', show);
    p.addEventListener('playing', show);
    return () => {
      p.dispose();
      player.current = null;
    };
  }, [cast, speed]);

  const seek = async (to: number | `${number}%`) => {
    const p = player.current;
    if (!p) return;
    await p.seek(to);
    setTime(`${p.getCurrentTime().toFixed(1)} / ${(p.getDuration() ?? 0).toFixed(1)} s`);
  };

  return (
    <section className="panel" aria-label="Recording" style={{ marginTop: 10 }}>
      <div className="row small" style={{ marginBottom: 6 }}>
        <b>Recording</b>
        <span className="muted">asciicast v2, {events} events</span>
        <span className="spacer" />
        <button type="button" className="small" onClick={() => void seek(0)}>
          Start
        </button>
        <button type="button" className="small" onClick={() => void seek(Math.max(0, (player.current?.getCurrentTime() ?? 0) - 5))}>
          −5 s
        </button>
        <button type="button" className="small" onClick={() => void seek((player.current?.getCurrentTime() ?? 0) + 5)}>
          +5 s
        </button>
        <button type="button" className="small" onClick={() => void seek('100%')}>
          End
        </button>
        <label className="row">
          Speed
          <select aria-label="Playback speed" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <span className="mono muted" data-testid="playback-time">
          {time}
        </span>
        <button type="button" className="small" onClick={() => download(`${name}.cast`, cast, 'application/x-asciicast')}>
          Download .cast
        </button>
      </div>
      <div ref={box} data-testid="player" />
    </section>
  );
}
