// AJP13 (Apache Tomcat Connectors "AJP Protocol Reference"): the protocol web servers speak to servlet
// containers: CPING/CPONG health, and a forwarded HTTP request with headers, attributes and a body.
import * as z from 'zod';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { AuthError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { bodyJson } from '../http/client.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { cping, forward } from './client.ts';
import { identification } from './identify.ts';

const MiB = 1024 * 1024;
const fieldsOut = z.array(z.tuple([z.string(), z.string()]));
const secret = z.string().min(1).max(1024).optional().describe('The connector\'s secret (Tomcat\'s secret / secretRequired, mod_jk\'s secret)');

export default defineProtocol({
  id: 'ajp',
  title: 'AJP13',
  category: 'web',
  summary: 'Speaks AJP13 to a servlet container\'s connector (Tomcat, Jetty...), as a front web server does: CPING/CPONG, and a forwarded HTTP request with headers, attributes, the connector secret and a body, answered with status, headers and body chunks.',
  ports: [{ port: 8009, transport: 'tcp' }],
  specs: ['AJP Protocol Reference (Apache Tomcat Connectors)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Debian\'s Tomcat 10.1 AJP connectors, one without a secret and one with secretRequired: CPING/CPONG, requests with coded and named headers, query string, remote user and custom request attributes read back by a servlet, a body sent in chunks as Tomcat asks for them (GET_BODY_CHUNK), responses with coded headers, Set-Cookie and many body chunks, capped; a missing or wrong secret is auth_failed with Tomcat\'s 403 page title. AJP has no TLS (it is meant for trusted networks); SSL attributes (ssl_cipher, key size) are sent as the front server would. Not covered: the ssl_cert attribute and AJP14.',
  },
  verifiedAgainst: 'Apache Tomcat 10.1.60 (Debian 12 tomcat10 10.1.60-1~deb12u1)',
  defaultOperation: 'ping',
  identify: identification,
  operations: {
    ping: operation({
      summary: 'CPING: the container answers CPONG when its connector is alive',
      input: z.object({}),
      output: z.object({ cpong: z.boolean(), rttMs: z.number() }),
      text: (r) => `CPONG in ${r.rttMs} ms`,
      async run(ctx) {
        const conn = await ctx.dial();
        return { cpong: true, rttMs: await cping(conn) };
      },
    }),
    request: operation({
      summary: 'A forwarded HTTP request (Forward Request, body chunks) and the container\'s response',
      input: z.object({
        method: z.string().regex(/^[A-Z][A-Z-]{0,31}$/).default('GET'),
        uri: z.string().min(1).max(8192).regex(/^\/[^\s]*$/, 'a path starting with /, with an optional ?query').default('/').describe('Path and query (the query travels as the query_string attribute)'),
        headers: headersInput.describe('HTTP header fields (common ones travel as AJP codes)'),
        body: z.string().max(8 * MiB).optional().describe('Request body (UTF-8), sent in chunks as the container asks'),
        secret,
        attributes: z.record(z.string().min(1).max(256), z.string().max(8192)).default({}).describe('Request attributes (req_attribute) the servlet reads with getAttribute'),
        remoteUser: z.string().max(256).optional().describe('remote_user attribute: the user the front server authenticated'),
        authType: z.string().max(64).optional(),
        remoteAddr: z.string().max(64).default('127.0.0.1').describe('remote_addr: the client address the front server saw'),
        serverName: z.string().max(253).optional().describe('server_name (defaults to the Host header or the target host)'),
        serverPort: z.number().int().min(1).max(65535).default(80),
        isSsl: z.boolean().default(false).describe('The front connection was HTTPS (request.isSecure())'),
        sslCipher: z.string().max(256).optional(),
        jvmRoute: z.string().max(256).optional(),
        maxBodyBytes: z.number().int().min(1024).max(64 * MiB).default(4 * MiB),
        bodyEncoding: z.enum(['auto', 'text', 'base64']).default('auto'),
      }),
      output: z.object({
        status: z.number(),
        reason: z.string(),
        headers: fieldsOut,
        body: z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number() }),
        chunks: z.number(),
        bodyRequests: z.number().describe('GET_BODY_CHUNK requests the container sent'),
        truncated: z.boolean(),
        reuse: z.boolean().nullable().describe('END_RESPONSE says the connection may carry another request'),
      }),
      text: (r) => `${r.status} ${r.reason}\n${r.headers.map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${r.body.text ?? `(${r.body.bytes} bytes, binary)`}`,
      async run(ctx, input) {
        const headers = headerPairs(input.headers);
        const body = input.body === undefined ? new Uint8Array(0) : utf8(input.body);
        if (!headers.some(([n]) => n.toLowerCase() === 'host')) headers.unshift(['Host', ctx.target.host]);
        if (body.length && !headers.some(([n]) => n.toLowerCase() === 'content-length')) headers.push(['Content-Length', String(body.length)]);
        const q = input.uri.indexOf('?');
        const conn = await ctx.dial();
        const r = await forward(
          conn,
          {
            method: input.method,
            protocol: 'HTTP/1.1',
            uri: q < 0 ? input.uri : input.uri.slice(0, q),
            queryString: q < 0 ? undefined : input.uri.slice(q + 1),
            remoteAddr: input.remoteAddr,
            remoteHost: null,
            serverName: input.serverName ?? headers.find(([n]) => n.toLowerCase() === 'host')?.[1].replace(/:\d+$/, '') ?? ctx.target.host,
            serverPort: input.serverPort,
            isSsl: input.isSsl,
            headers,
            remoteUser: input.remoteUser,
            authType: input.authType,
            jvmRoute: input.jvmRoute,
            sslCipher: input.sslCipher,
            secret: input.secret,
            attributes: Object.entries(input.attributes),
          },
          body,
          input.maxBodyBytes,
        );
        // Tomcat refuses a request whose secret is missing or wrong with its own 403 error page.
        const title = /<title>([^<]*)<\/title>/.exec(fromUtf8(r.body.subarray(0, 4096)))?.[1];
        if (r.status === 403 && title && /HTTP Status 403/.test(title)) {
          throw new AuthError(`the container refused the request: ${title}${input.secret ? ' (the secret is wrong, or the request is forbidden)' : ' (its AJP connector may require a secret)'}`, { status: 403 });
        }
        const type = r.headers.find(([n]) => n === 'content-type')?.[1];
        return { status: r.status, reason: r.reason, headers: r.headers, body: { ...bodyJson(r.body, input.bodyEncoding, type), bytes: r.bodyBytes }, chunks: r.chunks, bodyRequests: r.bodyRequests, truncated: r.truncated, reuse: r.reuse };
      },
    }),
  },
});
