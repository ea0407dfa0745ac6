// uwsgi (uWSGI documentation "The uwsgi Protocol"): a WSGI request sent straight to a uWSGI application
// socket, as nginx's uwsgi_pass does, and the application's HTTP response.
import * as z from 'zod';
import { utf8 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { bodyJson } from '../http/client.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { cgiParams } from '../fastcgi/index.ts';
import { uwsgiRequest } from './client.ts';

const MiB = 1024 * 1024;
const fieldsOut = z.array(z.tuple([z.string(), z.string()]));

export default defineProtocol({
  id: 'uwsgi',
  title: 'uwsgi',
  category: 'web',
  summary: 'Sends a WSGI request straight to a uWSGI application socket (the uwsgi packet with its CGI variables, then the body), as a web server\'s uwsgi_pass would, and shows the application\'s HTTP response.',
  ports: [{ port: 3031, transport: 'tcp', label: 'uwsgi socket (the documentation\'s usual choice)' }],
  specs: ['uWSGI: The uwsgi Protocol', 'PEP 3333 (WSGI)', 'RFC 3875 (CGI variables)'],
  rating: {
    stars: 4,
    reason:
      'Lab-tested through workerd against Debian\'s uWSGI 2.0 with the Python 3 plugin and a WSGI application echoing its environ and body: vars, body, status, headers and a body read to the close or by Content-Length, capped. The uwsgi socket has no authentication; uWSGI\'s TLS sockets (ssl-socket) and the non-WSGI modifiers (spooler, signals, subscriptions) are not covered.',
  },
  verifiedAgainst: 'uWSGI 2.0.21-5.1 with uwsgi-plugin-python3 (Debian 12)',
  defaultOperation: 'request',
  identify: { unprobed: 'a uwsgi packet runs a request on the application; not sent' },
  operations: {
    request: operation({
      summary: 'A WSGI request (vars and body) to a uWSGI socket: the application\'s status, headers and body',
      input: z.object({
        uri: z.string().min(1).max(8192).regex(/^\/[^\s]*$/, 'a path starting with /, with an optional ?query').default('/').describe('REQUEST_URI (its query becomes QUERY_STRING)'),
        method: z.string().regex(/^[A-Z]{1,16}$/).default('GET'),
        headers: headersInput.describe('HTTP header fields, passed as HTTP_* vars (Content-Type as CONTENT_TYPE)'),
        body: z.string().max(8 * MiB).optional().describe('Request body (UTF-8)'),
        vars: z.record(z.string().min(1).max(256), z.string().max(16 * 1024)).default({}).describe('More vars (UWSGI_SCRIPT, UWSGI_APPID ...), or overrides of the ones built from the request'),
        maxBodyBytes: z.number().int().min(1024).max(64 * MiB).default(4 * MiB).describe('Response body kept; past it the rest is left unread and flagged truncated'),
        bodyEncoding: z.enum(['auto', 'text', 'base64']).default('auto'),
      }),
      output: z.object({
        status: z.number(),
        reason: z.string(),
        version: z.string(),
        headers: fieldsOut,
        body: z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number() }),
        truncated: z.boolean(),
        framing: z.string(),
        vars: z.number(),
      }),
      text: (r) => `HTTP/${r.version} ${r.status} ${r.reason}\n${r.headers.map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${r.body.text ?? `(${r.body.bytes} bytes, binary)`}`,
      async run(ctx, input) {
        const headers = headerPairs(input.headers);
        const body = input.body === undefined ? new Uint8Array(0) : utf8(input.body);
        // The CGI variables a web server passes (nginx's uwsgi_params): the app is mounted at the root, so the
        // whole path is PATH_INFO and SCRIPT_NAME is empty (PEP 3333 environ); no script file name.
        const path = input.uri.split('?')[0];
        const params = cgiParams({ scriptFilename: '', method: input.method, uri: input.uri, headers, body, host: ctx.target.host, port: ctx.target.port, params: { PATH_INFO: path, SCRIPT_NAME: '', ...input.vars } }).filter(([k]) => k !== 'SCRIPT_FILENAME' || input.vars.SCRIPT_FILENAME !== undefined);
        const conn = await ctx.dial();
        const r = await uwsgiRequest(conn, params, body, input.method, input.maxBodyBytes);
        const type = r.head.headers.find(([n]) => n === 'content-type')?.[1];
        return {
          status: r.head.status,
          reason: r.head.reason,
          version: r.head.version,
          headers: r.head.headers,
          body: { ...bodyJson(r.body, input.bodyEncoding, type), bytes: r.bodyBytes },
          truncated: r.truncated,
          framing: r.framing,
          vars: params.length,
        };
      },
    }),
  },
});
