// Descriptions generated from the declarations: /api/protocols, /api/openapi.json, /api/capabilities.
import * as z from 'zod';
import { CAPABILITIES, RUNTIME_CAPABILITIES, unsupportedReasons } from '../core/capabilities.ts';
import type { Capability, TlsMode } from '../core/conn.ts';
import type { DefinedOperation, Protocol } from '../core/protocol.ts';
import { OUTCOMES, httpStatus } from '../core/errors.ts';
import { missingCapabilities } from '../core/runner.ts';

export function inputJsonSchema(op: DefinedOperation): Record<string, unknown> {
  return z.toJSONSchema(op.schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export function outputJsonSchema(op: DefinedOperation): Record<string, unknown> {
  return z.toJSONSchema(op.output, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
}

type Runtime = keyof typeof RUNTIME_CAPABILITIES;

/** For each runtime: does the operation run there (with TLS off / per TLS mode), and if not why. */
export function operationSupport(op: DefinedOperation, modes: TlsMode[]) {
  const out: Record<string, { supported: boolean; tls: Record<string, boolean>; missing?: Capability[]; reasons?: string[]; alternatives?: string[] }> = {};
  for (const runtime of Object.keys(RUNTIME_CAPABILITIES) as Runtime[]) {
    if (runtime === 'browser') continue;
    const have = new Set(RUNTIME_CAPABILITIES[runtime]);
    const tls: Record<string, boolean> = {};
    for (const m of modes) tls[m] = missingCapabilities(op, m, have).length === 0;
    const missing = missingCapabilities(op, 'off', have);
    out[runtime] = missing.length === 0 ? { supported: true, tls } : { supported: false, tls, missing, ...unsupportedReasons(missing) };
  }
  return out;
}

export function describeProtocol(p: Protocol, have?: ReadonlySet<Capability>) {
  return {
    id: p.id,
    title: p.title,
    category: p.category,
    summary: p.summary,
    ports: p.ports,
    specs: p.specs,
    rating: p.rating,
    verifiedAgainst: p.verifiedAgainst,
    tlsModes: p.tlsModes,
    defaultOperation: p.defaultOperation ?? null,
    operations: Object.values(p.operations).map((op) => ({
      name: op.name,
      summary: op.summary,
      /** `session`: a WebSocket at GET /api/{protocol}/{operation}; `request`: POST. */
      kind: op.session ? 'session' : 'request',
      /** The fields a person fills first, in order; forms put the rest under "More options". */
      primary: op.primary,
      /** A session's own messages, for the session view's hint. */
      ...(op.messages ? { messages: op.messages } : {}),
      /** A file transfer (docs/files.md): streamed with Accept: application/octet-stream or multipart/form-data, or as a WebSocket transfer. */
      ...(op.transfer ? { transfer: op.transfer } : {}),
      /** How the UI stops a run on the server: a random label in the `tag` field, then `operation` with the same input. */
      ...(op.cancel ? { cancel: op.cancel } : {}),
      needs: op.needs ?? ['tcp'],
      ...(op.runsCode ? { runsCode: true } : {}),
      input: inputJsonSchema(op),
      output: outputJsonSchema(op),
      ...(op.media ? { media: op.media.contentType } : {}),
      support: operationSupport(op, p.tlsModes),
      ...(have ? { availableHere: missingCapabilities(op, 'off', have).length === 0 } : {}),
    })),
  };
}

export function runtimeSupport(protocols: readonly Protocol[]) {
  return {
    capabilities: Object.fromEntries(
      (Object.keys(CAPABILITIES) as Capability[]).map((cap) => [
        cap,
        {
          ...CAPABILITIES[cap],
          workers: RUNTIME_CAPABILITIES.workers.includes(cap),
          node: RUNTIME_CAPABILITIES.node.includes(cap),
        },
      ]),
    ),
    operations: protocols.flatMap((p) =>
      Object.values(p.operations).map((op) => ({ protocol: p.id, operation: op.name, needs: op.needs ?? ['tcp'], support: operationSupport(op, p.tlsModes) })),
    ),
  };
}

const errorSchema = {
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { const: false },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { enum: OUTCOMES.filter((o) => o !== 'ok') }, message: { type: 'string' }, detail: { type: 'object' } },
    },
  },
};

/** An upload's streamed request body: multipart/form-data with the JSON input (without the content field) first, then the file. */
function transferRequest(op: DefinedOperation): Record<string, unknown> {
  if (op.transfer?.direction !== 'upload') return {};
  const schema = inputJsonSchema(op) as { properties?: Record<string, unknown>; required?: string[] };
  const content = op.transfer.content;
  const { [content]: _content, ...properties } = schema.properties ?? {};
  return {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['input', 'file'],
        properties: { input: { ...schema, properties, required: (schema.required ?? []).filter((r) => r !== content) }, file: { type: 'string', format: 'binary' } },
      },
      encoding: { input: { contentType: 'application/json' } },
    },
  };
}

export function openApiDocument(protocols: readonly Protocol[]) {
  const paths: Record<string, unknown> = {};
  const statuses = [...new Set(OUTCOMES.filter((o) => o !== 'ok').map(httpStatus))].sort();
  for (const p of protocols) {
    for (const op of Object.values(p.operations)) {
      paths[`/api/${p.id}/${op.name}`] = {
        post: {
          operationId: `${p.id}_${op.name}`,
          summary: `${p.title}: ${op.summary}`,
          tags: [p.category],
          parameters: [{ name: 'transcript', in: 'query', required: false, schema: { type: 'string', enum: ['1'] }, description: 'Add the decoded wire log' }],
          requestBody: { required: true, content: { 'application/json': { schema: inputJsonSchema(op) }, ...transferRequest(op) } },
          responses: {
            ...(op.transfer?.direction === 'download' && op.transfer.resume
              ? { 206: { description: 'With Accept: application/octet-stream and Range: bytes=N-: the file from byte N (Content-Range)', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } }
              : {}),
            200: {
              description: op.transfer?.direction === 'download' ? 'The operation completed; with Accept: application/octet-stream the body is the file itself (docs/files.md)' : 'The operation completed',
              content: {
                ...(op.transfer?.direction === 'download' ? { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } : {}),
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      ok: { const: true },
                      protocol: { const: p.id },
                      operation: { const: op.name },
                      target: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer' } } },
                      result: outputJsonSchema(op),
                      timing: { type: 'object', additionalProperties: { type: 'number' } },
                      transcript: { type: 'object' },
                    },
                  },
                },
                ...(op.media ? { [op.media.contentType]: { schema: { type: 'string', format: 'binary' }, description: `With Accept: ${op.media.contentType}` } } : {}),
              },
            },
            ...Object.fromEntries(statuses.map((s) => [s, { description: `Failure (${OUTCOMES.filter((o) => o !== 'ok' && httpStatus(o) === s).join(', ')})`, content: { 'application/json': { schema: errorSchema } } }])),
          },
        },
      };
    }
  }
  for (const p of protocols) {
    for (const op of Object.values(p.operations)) {
      if (!op.session) continue;
      const path = `/api/${p.id}/${op.name}`;
      paths[path] = {
        ...(paths[path] as object),
        get: {
          operationId: `${p.id}_${op.name}_session`,
          summary: `${p.title}: ${op.summary} (interactive session)`,
          description: `A WebSocket (Upgrade: websocket). The first message is {"type":"start","input":{...}} with the input of the POST body; the session ends with {"type":"end","result"} or {"type":"error","error"}; the client credits what it has read with {"type":"ack","bytes":n}. ${op.messages ?? 'Binary frames are data both ways.'}`,
          tags: [p.category],
          parameters: [{ name: 'Upgrade', in: 'header', required: true, schema: { type: 'string', enum: ['websocket'] } }],
          responses: { 101: { description: 'Switching protocols: the session runs on the WebSocket' } },
        },
      };
    }
    if (!p.defaultOperation) continue;
    const op = p.operations[p.defaultOperation];
    paths[`/${p.id}/{target}`] = {
      get: {
        operationId: `${p.id}_short`,
        summary: `${p.title}: ${op.summary} (short route to ${op.name})`,
        description: `Runs ${p.id} ${op.name} against {target} (host, host:port or [IPv6]:port); query parameters fill the other input fields. Plain text for curl, JSON with Accept: application/json or ?format=json, a redirect into the UI for browsers.${op.shortRoute ? ' A path after the target fills more fields: /{target}/{extra}.' : ''}`,
        tags: ['short routes'],
        parameters: [
          { name: 'target', in: 'path', required: true, schema: { type: 'string' }, description: 'host, host:port or [IPv6]:port' },
          { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['text', 'json'] } },
        ],
        responses: { 200: { description: 'The result as text (or JSON)', content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } } },
      },
    };
  }
  paths['/'] = { get: { summary: 'A short text index for curl (browsers get the UI)', responses: { 200: { description: 'The index', content: { 'text/plain': { schema: { type: 'string' } } } } } } };
  paths['/api/protocols'] = { get: { summary: 'Every protocol declaration', responses: { 200: { description: 'The registry' } } } };
  paths['/api/tunnel'] = {
    get: {
      summary: 'Raw TCP tunnel over a WebSocket (Upgrade: websocket)',
      parameters: ['host', 'port', 'tls', 'window'].map((name) => ({ name, in: 'query', required: name === 'host' || name === 'port', schema: { type: 'string' } })),
      responses: { 101: { description: 'Switching protocols' } },
    },
  };
  return { openapi: '3.1.0', info: { title: 'Portolan API', version: '0.1.0' }, paths };
}
