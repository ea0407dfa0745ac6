// The benchmark's page for Portolan's VNC viewer (bundled by bench/desktop.ts): the `view` session of the Worker, drawn
// with the UI's own painter, each update acknowledged once it is on the canvas; it counts updates and pixels painted.
import { DesktopPainter } from '../web/src/session/desktop-draw.ts';

const params = new URLSearchParams(location.search);
const canvas = document.getElementById('screen') as HTMLCanvasElement;
const painter = new DesktopPainter(canvas);
const state = { frames: 0, pixels: 0, error: null as unknown };
(window as unknown as { bench: typeof state }).bench = state;

const ws = new WebSocket(params.get('ws')!);
ws.binaryType = 'arraybuffer';
ws.onopen = () => ws.send(JSON.stringify({ type: 'start', input: JSON.parse(params.get('input')!) }));
ws.onmessage = (e) => {
  if (typeof e.data === 'string') {
    const m = JSON.parse(e.data);
    if ((m.type === 'init' || m.type === 'resize') && !m.status) void painter.resize(m.width, m.height);
    if (m.type === 'error') state.error = m.error;
    return;
  }
  const bytes = new Uint8Array(e.data as ArrayBuffer);
  // Pixels painted (a copy counts as painting its area): full-screen frames are pixels / screen area.
  void painter.draw(bytes).then((area) => {
    state.frames++;
    state.pixels += area;
    ws.send(JSON.stringify({ type: 'ack', bytes: bytes.length }));
  });
};
