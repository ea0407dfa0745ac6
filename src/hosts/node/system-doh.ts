// DNS over HTTPS (RFC 8484 §4.1, POST and GET ?dns=) on loopback, answering A and AAAA questions from
// this machine's resolver (getaddrinfo: /etc/hosts, then the system's DNS). `npm start` hands its URL to
// the Worker as RESOLVER_URL, so the target guard resolves names as this machine does — names in
// /etc/hosts and a company's internal DNS work without the internet, and are checked before connecting.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { fromBase64 } from '../../core/bytes.ts';
import { parseIp } from '../../core/ip.ts';
import { classify } from '../../core/errors.ts';
import { decodeMessage, encodeMessage, type DnsMessage } from '../../protocols/dns/codec.ts';
import { systemResolver } from './env.ts';

const MAX_QUERY_BYTES = 4096;

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_QUERY_BYTES) throw new RangeError('query too large');
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The answer to one query: the addresses of its one A or AAAA question, NXDOMAIN when the name has none. */
export async function answerQuery(query: DnsMessage): Promise<Uint8Array> {
  const [question] = query.questions;
  const reply = { id: query.id, qr: true, flags: { rd: true, ra: true }, questions: query.questions };
  if (query.questions.length !== 1 || (question.type !== 'A' && question.type !== 'AAAA')) return encodeMessage({ ...reply, rcode: 'NOTIMP' });
  let addresses: string[];
  try {
    addresses = await systemResolver.resolve(question.name.replace(/\.$/, ''));
  } catch {
    return encodeMessage({ ...reply, rcode: 'NXDOMAIN' });
  }
  const family = question.type === 'A' ? 4 : 6;
  const answers = addresses
    .filter((a) => parseIp(a)?.family === family)
    .map((address) => ({ name: question.name, type: question.type, class: 'IN', ttl: 0, data: { address } }));
  return encodeMessage({ ...reply, rcode: 'NOERROR', answers });
}

/** Serves the endpoint on 127.0.0.1 (an ephemeral port unless given); resolves with its URL. */
export async function startSystemDoh(port = 0): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/dns-query') throw new RangeError('not found');
      const raw = req.method === 'POST' ? await body(req) : fromBase64((url.searchParams.get('dns') ?? '').replace(/-/g, '+').replace(/_/g, '/'));
      const answer = await answerQuery(decodeMessage(raw));
      res.writeHead(200, { 'content-type': 'application/dns-message', 'cache-control': 'no-store' }).end(answer);
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(classify(e).message);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { url: `http://127.0.0.1:${bound}/dns-query`, server };
}
