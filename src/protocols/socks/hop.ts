// Proxy hops for every operation (`via` of type socks5, socks4, socks4a or http, and `through` on a dial):
// the handshake core/proxy.ts runs on each connection to the proxy before handing it on as the target's.
import { InvalidInput } from '../../core/errors.ts';
import type { ProxyHandshake } from '../../core/proxy.ts';
import { httpConnect } from '../httpproxy/client.ts';
import { socks4Connect, socks5Connect } from './client.ts';

export const proxyHandshake: ProxyHandshake = async (_ctx, conn, hop, target) => {
  if (hop.forward) return { proxy: `${conn.host}:${conn.port}`, reply: 'no handshake: the operation speaks to the proxy itself' };
  // The address the guard checked, so the proxy cannot be steered elsewhere by a second resolution;
  // SOCKS4a exists to let the proxy resolve the name, so it gets the name.
  const host = hop.type === 'socks4a' ? target.host : (target.address ?? target.host);
  switch (hop.type) {
    case 'socks5':
      return socks5Connect(conn, { username: hop.username, password: hop.password }, host, target.port);
    case 'socks4':
    case 'socks4a':
      return socks4Connect(conn, hop.username ?? '', host, target.port, hop.type === 'socks4a');
    case 'http':
      return httpConnect(conn, host, target.port, hop.username, hop.password);
    case 'shadowsocks':
      throw InvalidInput.field('via.type', 'a Shadowsocks server is reached with the shadowsocks protocol’s connect, not as a hop');
  }
};
