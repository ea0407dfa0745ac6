import { utf8 } from '../../core/bytes.ts';
import { type Finding, type Identification, high, productVersion } from '../../core/identify.ts';
import { h2Frames } from '../http2/identify.ts';

/** HTTP Server header and the services that answer HTTP in their own words. */
function recognizeHttp(text: string): Finding | null {
  const status = /^HTTP\/(1\.[01]) (\d{3})/.exec(text);
  if (!status) return null;
  const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')) || text.length);
  const header = (name: string) => new RegExp(`^${name}:[ \\t]*(.*?)\\s*$`, 'im').exec(head)?.[1];
  const server = header('server');
  const pv = server ? productVersion(server) : {};
  if (/Tor ControlPort/i.test(text)) return high('torcontrol', { product: 'Tor' });
  if (/^(squid|tinyproxy)/i.test(server ?? '') || /^X-Squid-Error:/im.test(head)) return high('httpproxy', pv);
  if (/\bh2c\b/i.test(header('upgrade') ?? '')) return high('http2', { ...pv, info: `h2c by Upgrade; HTTP/1.1 too (${status[2]})` });
  if (/^Docker\//i.test(server ?? '') || /^Api-Version:/im.test(head)) return high('docker', pv);
  return high('http', { ...pv, info: `HTTP/${status[1]} ${status[2]}` });
}

export const identification: Identification = {
  probes: [
    {
      name: 'http-get',
      cost: 1,
      ports: [80, 8080, 8000, 8008, 8888, 3128, 2375, 2379, 9222, 15672, 80],
      payload: (host) => utf8(`GET / HTTP/1.1\r\nHost: ${/:/.test(host) ? `[${host}]` : host}\r\nUser-Agent: portolan-identify\r\nAccept: */*\r\nConnection: close\r\n\r\n`),
      recognize(reply, t) {
        if (h2Frames(reply)) return high('http2', { info: 'h2c: answers HTTP/1.1 with HTTP/2 frames' });
        return recognizeHttp(t);
      },
    },
  ],
};
