// FastCGI (the FastCGI Specification 1.0): Responder requests to an application server (php-fpm, fcgiwrap...)
// with CGI parameters (RFC 3875) built from an HTTP-like request, and the GET_VALUES management query.
import * as z from 'zod';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { bodyJson } from '../http/client.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { fcgiRequest, getValues } from './client.ts';
import { Role, splitCgiOutput } from './codec.ts';
import { identification } from './identify.ts';

const MiB = 1024 * 1024;

/** CGI meta-variables for a request (RFC 3875 section 4.1), HTTP headers as HTTP_* (section 4.1.18). */
export function cgiParams(input: {
  scriptFilename: string;
  scriptName?: string;
  method: string;
  uri: string;
  headers: [string, string][];
  body: Uint8Array;
  host: string;
  port: number;
  params: Record<string, string>;
}): [string, string][] {
  const q = input.uri.indexOf('?');
  const path = q < 0 ? input.uri : input.uri.slice(0, q);
  const query = q < 0 ? '' : input.uri.slice(q + 1);
  const own: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'Portolan',
    REQUEST_METHOD: input.method,
    REQUEST_URI: input.uri,
    SCRIPT_FILENAME: input.scriptFilename,
    SCRIPT_NAME: input.scriptName ?? path,
    DOCUMENT_URI: path,
    QUERY_STRING: query,
    SERVER_NAME: input.host,
    SERVER_PORT: String(input.port),
    REMOTE_ADDR: '127.0.0.1',
    CONTENT_LENGTH: input.body.length ? String(input.body.length) : '',
  };
  for (const [name, value] of input.headers) {
    const key = name.toLowerCase() === 'content-type' ? 'CONTENT_TYPE' : name.toLowerCase() === 'content-length' ? 'CONTENT_LENGTH' : `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
    own[key] = own[key] && key.startsWith('HTTP_') ? `${own[key]}, ${value}` : value;
  }
  return Object.entries({ ...own, ...input.params });
}

const fieldsOut = z.array(z.tuple([z.string(), z.string()]));

export default defineProtocol({
  id: 'fastcgi',
  title: 'FastCGI',
  category: 'web',
  summary: 'Sends a request straight to a FastCGI application server (php-fpm, fcgiwrap, ...): CGI parameters, STDIN body, the STDOUT response split into status, headers and body, STDERR, the END_REQUEST status; and GET_VALUES.',
  ports: [{ port: 9000, transport: 'tcp', label: 'php-fpm (a common choice)' }],
  specs: ['FastCGI Specification 1.0', 'RFC 3875 (CGI 1.1)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Debian\'s php-fpm 8.2 on TCP (a script echoing its parameters and body, writing to STDERR, setting a status; a missing script\'s "Primary script unknown"; GET_VALUES, which php-fpm answers with FCGI_MPXS_CONNS alone) and fcgiwrap 1.1 (a shell CGI script, its exit status and standard error). Records above 64 KiB are cut into several, bodies are capped with the rest left unread. FastCGI has no authentication or TLS of its own. Not covered: the Filter role and multiplexed requests on one connection (the servers tested do not multiplex).',
  },
  verifiedAgainst: 'php-fpm 8.2.36-1~deb12u1 and fcgiwrap 1.1.0-14+deb12u1 (Debian 12)',
  defaultOperation: 'request',
  identify: identification,
  operations: {
    request: operation({
      summary: 'A request to a FastCGI Responder (or Authorizer): its status, headers, body and STDERR',
      input: z.object({
        scriptFilename: z.string().min(1).max(4096).describe('SCRIPT_FILENAME: the script on the application server\'s disk').meta({ examples: ['/var/www/html/index.php'] }),
        uri: z.string().min(1).max(8192).regex(/^\/[^\s]*$/, 'a path starting with /, with an optional ?query').default('/').describe('REQUEST_URI (its query becomes QUERY_STRING)'),
        scriptName: z.string().max(4096).optional().describe('SCRIPT_NAME (defaults to the path of uri)'),
        method: z.string().regex(/^[A-Z]{1,16}$/).default('GET'),
        headers: headersInput.describe('HTTP header fields, passed as HTTP_* parameters (Content-Type as CONTENT_TYPE)'),
        body: z.string().max(8 * MiB).optional().describe('Request body, sent on STDIN as UTF-8'),
        params: z.record(z.string().min(1).max(256), z.string().max(64 * 1024)).default({}).describe('More CGI parameters, or overrides of the ones built from the request'),
        role: z.enum(['responder', 'authorizer']).default('responder'),
        requestId: z.number().int().min(1).max(65535).default(1),
        maxBodyBytes: z.number().int().min(1024).max(64 * MiB).default(4 * MiB).describe('STDOUT kept; past it the response is cut and flagged truncated'),
        bodyEncoding: z.enum(['auto', 'text', 'base64']).default('auto'),
      }),
      output: z.object({
        status: z.number().nullable(),
        reason: z.string().nullable(),
        headers: fieldsOut,
        body: z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number() }),
        stderr: z.string(),
        appStatus: z.number().nullable(),
        protocolStatus: z.string().nullable(),
        truncated: z.boolean(),
        records: z.object({ stdout: z.number(), stderr: z.number() }),
        params: z.number().describe('CGI parameters sent'),
      }),
      text: (r) => `Status: ${r.status} ${r.reason}\n${r.headers.map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${r.body.text ?? `(${r.body.bytes} bytes, binary)`}${r.stderr ? `\n--- stderr\n${r.stderr}` : ''}`,
      async run(ctx, input) {
        let headers: [string, string][];
        try {
          headers = headerPairs(input.headers);
        } catch (e) {
          throw e instanceof InvalidInput ? e : InvalidInput.field('headers', String(e));
        }
        const body = input.body === undefined ? new Uint8Array(0) : utf8(input.body);
        const params = cgiParams({ ...input, headers, body, host: ctx.target.host, port: ctx.target.port });
        const conn = await ctx.dial();
        const r = await fcgiRequest(conn, { requestId: input.requestId, role: input.role === 'authorizer' ? Role.AUTHORIZER : Role.RESPONDER, params, stdin: body, maxStdout: input.maxBodyBytes, maxStderr: 256 * 1024 });
        if (r.protocolStatus && r.protocolStatus !== 'REQUEST_COMPLETE') throw new ServerError(`the application refused the request: ${r.protocolStatus}`, { protocolStatus: r.protocolStatus });
        const stderr = fromUtf8(r.stderr);
        // No STDOUT at all: nothing to split (php-fpm answers a missing script with a Status header, fcgiwrap may not).
        const cgi = r.stdout.length > 0 ? splitCgiOutput(r.stdout) : null;
        const type = cgi?.headers.find(([n]) => n === 'content-type')?.[1];
        return {
          status: cgi?.status ?? null,
          reason: cgi?.reason ?? null,
          headers: cgi?.headers ?? [],
          body: { ...bodyJson(cgi?.body ?? new Uint8Array(0), input.bodyEncoding, type), bytes: r.stdoutBytes - (r.stdout.length - (cgi?.body.length ?? 0)) },
          stderr,
          appStatus: r.appStatus,
          protocolStatus: r.protocolStatus,
          truncated: r.truncated,
          records: r.records,
          params: params.length,
        };
      },
    }),
    values: operation({
      summary: 'GET_VALUES: the application\'s limits (FCGI_MAX_CONNS, FCGI_MAX_REQS) and whether it multiplexes (FCGI_MPXS_CONNS)',
      input: z.object({ names: z.array(z.string().min(1).max(256)).min(1).max(64).default(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS']) }),
      output: z.object({ values: z.record(z.string(), z.string()), maxConns: z.number().nullable(), maxReqs: z.number().nullable(), multiplexes: z.boolean().nullable(), unknownType: z.boolean() }),
      text: (r) => (r.unknownType ? 'the application answered UNKNOWN_TYPE: it does not implement GET_VALUES' : Object.entries(r.values).map(([k, v]) => `${k}=${v}`).join('\n')),
      async run(ctx, input) {
        const conn = await ctx.dial();
        const { values, unknownType } = await getValues(conn, input.names);
        const num = (k: string) => (values[k] !== undefined && /^\d+$/.test(values[k]) ? Number(values[k]) : null);
        return { values, maxConns: num('FCGI_MAX_CONNS'), maxReqs: num('FCGI_MAX_REQS'), multiplexes: values.FCGI_MPXS_CONNS === undefined ? null : values.FCGI_MPXS_CONNS === '1', unknownType };
      },
    }),
  },
});
