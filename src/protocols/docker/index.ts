// Docker Engine API (v1.41, and Podman's Docker-compatible service): version, info, containers, images, logs
// with the multiplexed stream decoded, and exec, over TCP or TLS with a client certificate (Node host).
import * as z from 'zod';
import { bytesJson } from '../../core/bytes.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { api, jsonOf, type ApiOptions } from './client.ts';
import { demultiplex } from './codec.ts';

const MiB = 1024 * 1024;
const common = {
  apiVersion: z.string().regex(/^\d+\.\d+$/, 'e.g. 1.41').optional().describe('Engine API version prefix (/v1.41/...); the daemon\'s own when absent'),
  username: z.string().max(256).optional().describe('HTTP Basic user, for a daemon behind an authenticating proxy'),
  password: z.string().max(1024).optional(),
  clientCert: z
    .object({ certPem: z.string().min(1).max(64 * 1024).describe('Client certificate (PEM), as in ~/.docker/cert.pem'), keyPem: z.string().min(1).max(64 * 1024).describe('Its private key (PEM), as in ~/.docker/key.pem') })
    .strict()
    .optional()
    .describe('TLS client certificate (dockerd --tlsverify): Node host only'),
  maxResponseBytes: z.number().int().min(1024).max(64 * MiB).default(16 * MiB).describe('A larger answer is a protocol error (nothing past it is kept)'),
};
const idIn = z.string().min(1).max(256).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a container name or id').describe('Container id (or a unique prefix) or name').meta({ examples: ['web'] });

type Common = { apiVersion?: string; username?: string; password?: string; clientCert?: { certPem: string; keyPem: string }; maxResponseBytes: number };

function opts(input: Common): ApiOptions {
  return { apiVersion: input.apiVersion, username: input.username, password: input.password, clientCert: input.clientCert, maxResponseBytes: input.maxResponseBytes };
}

async function getJson(ctx: OperationContext, input: Common, path: string): Promise<unknown> {
  return jsonOf(await api(ctx, opts(input), 'GET', path), `GET ${path}`);
}

const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw new ProtocolError(`${what}: expected a JSON array`);
  return v;
};
const strOf = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? null : String(v));

const containerOut = z.object({ id: z.string(), names: z.array(z.string()), image: z.string().nullable(), command: z.string().nullable(), state: z.string().nullable(), status: z.string().nullable(), created: z.string().nullable(), labels: z.record(z.string(), z.string()) });

function containerJson(c: Record<string, unknown>) {
  return {
    id: String(c.Id ?? ''),
    names: (Array.isArray(c.Names) ? c.Names : []).map(String),
    image: strOf(c.Image),
    command: strOf(c.Command),
    state: strOf(c.State),
    status: strOf(c.Status),
    created: typeof c.Created === 'number' ? new Date(c.Created * 1000).toISOString() : strOf(c.Created),
    labels: Object.fromEntries(Object.entries(rec(c.Labels)).map(([k, v]) => [k, String(v)])),
  };
}

const streamOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });

export default defineProtocol({
  id: 'docker',
  title: 'Docker Engine API',
  category: 'remote',
  summary: 'Queries a Docker or Podman daemon over its Engine API on TCP (or TLS with a client certificate on the Node host): version, info, containers (list and inspect), images, logs with the stdout/stderr stream demultiplexed, and exec, which runs a command on the target.',
  ports: [
    { port: 2375, transport: 'tcp', label: 'plain (dockerd -H tcp://...)' },
    { port: 2376, transport: 'tls', label: 'TLS (dockerd --tlsverify)' },
  ],
  specs: ['Docker Engine API v1.41', 'Podman Docker-compatible API'],
  rating: {
    stars: 4,
    reason:
      'Lab-tested through workerd against Podman 4.3\'s Docker-compatible API service (Debian\'s podman, runc and cgroupfs, containers actually running): version, info, containers listed and inspected, images, logs of a running container with stdout and stderr split from the multiplexed stream, exec of a command with its output, stderr and exit code; a missing container in the daemon\'s words, a 401 from an authenticating proxy as auth_failed, answers over the cap as protocol_error; over TLS with a client certificate through the Node host (HAProxy verifying it in front of the API, a missing certificate refused). Not covered: dockerd itself, attach, build, pull and events streams, and TTY containers\' raw logs beyond passing them through.',
  },
  verifiedAgainst: 'Podman 4.3.1 Docker-compatible API (Debian 12 podman 4.3.1+ds1-8+deb12u1+b3)',
  tls: { implicit: { port: 2376 } },
  defaultOperation: 'version',
  identify: { unprobed: 'its API is HTTP: the HTTP probe names Docker from the Server and Api-Version headers' },
  operations: {
    version: operation({
      summary: 'GET /version: engine version, API versions, OS, architecture, kernel, components',
      input: z.object({ ...common }),
      output: z.object({ version: z.string().nullable(), apiVersion: z.string().nullable(), minApiVersion: z.string().nullable(), os: z.string().nullable(), arch: z.string().nullable(), kernel: z.string().nullable(), components: z.array(z.object({ name: z.string(), version: z.string().nullable() })), raw: z.unknown() }),
      text: (r) => `${r.components.map((c) => `${c.name} ${c.version}`).join(', ') || r.version} (API ${r.apiVersion}, min ${r.minApiVersion}) on ${r.os}/${r.arch}, kernel ${r.kernel}`,
      async run(ctx, input) {
        const v = rec(await getJson(ctx, input, '/version'));
        return {
          version: strOf(v.Version),
          apiVersion: strOf(v.ApiVersion),
          minApiVersion: strOf(v.MinAPIVersion),
          os: strOf(v.Os),
          arch: strOf(v.Arch),
          kernel: strOf(v.KernelVersion),
          components: (Array.isArray(v.Components) ? v.Components : []).map((c) => ({ name: String(rec(c).Name ?? ''), version: strOf(rec(c).Version) })),
          raw: v,
        };
      },
    }),
    info: operation({
      summary: 'GET /info: containers running and stopped, images, storage driver, OS, CPUs, memory',
      input: z.object({ ...common }),
      output: z.object({ name: z.string().nullable(), serverVersion: z.string().nullable(), containers: z.number().nullable(), running: z.number().nullable(), paused: z.number().nullable(), stopped: z.number().nullable(), images: z.number().nullable(), driver: z.string().nullable(), os: z.string().nullable(), cpus: z.number().nullable(), memoryBytes: z.number().nullable(), raw: z.unknown() }),
      text: (r) => `${r.name}: ${r.serverVersion}, ${r.containers} containers (${r.running} running, ${r.stopped} stopped), ${r.images} images, ${r.driver}, ${r.os}, ${r.cpus} CPUs`,
      async run(ctx, input) {
        const i = rec(await getJson(ctx, input, '/info'));
        const n = (v: unknown) => (typeof v === 'number' ? v : null);
        return { name: strOf(i.Name), serverVersion: strOf(i.ServerVersion), containers: n(i.Containers), running: n(i.ContainersRunning), paused: n(i.ContainersPaused), stopped: n(i.ContainersStopped), images: n(i.Images), driver: strOf(i.Driver), os: strOf(i.OperatingSystem), cpus: n(i.NCPU), memoryBytes: n(i.MemTotal), raw: i };
      },
    }),
    containers: operation({
      summary: 'Containers: the list (GET /containers/json, stopped ones too), or one inspected (GET /containers/{id}/json)',
      input: z.object({ id: idIn.optional().describe('Inspect this container instead of listing'), all: z.boolean().default(true).describe('List stopped containers too'), ...common }),
      output: z.object({ containers: z.array(containerOut), inspect: z.unknown().optional() }),
      text: (r) => r.containers.map((c) => `${c.id.slice(0, 12)}  ${(c.image ?? '').padEnd(30)} ${(c.state ?? '').padEnd(8)} ${c.names.join(',')}`).join('\n'),
      async run(ctx, input) {
        if (input.id) {
          const c = rec(await getJson(ctx, input, `/containers/${encodeURIComponent(input.id)}/json`));
          const state = rec(c.State);
          const config = rec(c.Config);
          return {
            containers: [{ id: String(c.Id ?? ''), names: [String(c.Name ?? '')], image: strOf(config.Image), command: Array.isArray(config.Cmd) ? config.Cmd.join(' ') : null, state: strOf(state.Status), status: strOf(state.Status), created: strOf(c.Created), labels: Object.fromEntries(Object.entries(rec(config.Labels)).map(([k, v]) => [k, String(v)])) }],
            inspect: c,
          };
        }
        const list = arr(await getJson(ctx, input, `/containers/json${input.all ? '?all=true' : ''}`), 'GET /containers/json');
        return { containers: list.map((c) => containerJson(rec(c))) };
      },
    }),
    images: operation({
      summary: 'GET /images/json: images with their tags, sizes and creation dates',
      input: z.object({ ...common }),
      output: z.object({ images: z.array(z.object({ id: z.string(), tags: z.array(z.string()), digests: z.array(z.string()), size: z.number().nullable(), created: z.string().nullable() })) }),
      text: (r) => r.images.map((i) => `${i.id.replace(/^sha256:/, '').slice(0, 12)}  ${i.tags.join(', ') || '<none>'}  ${i.size} bytes`).join('\n'),
      async run(ctx, input) {
        const list = arr(await getJson(ctx, input, '/images/json'), 'GET /images/json');
        return {
          images: list.map((x) => {
            const i = rec(x);
            return { id: String(i.Id ?? ''), tags: (Array.isArray(i.RepoTags) ? i.RepoTags : []).map(String), digests: (Array.isArray(i.RepoDigests) ? i.RepoDigests : []).map(String), size: typeof i.Size === 'number' ? i.Size : null, created: typeof i.Created === 'number' ? new Date(i.Created * 1000).toISOString() : null };
          }),
        };
      },
    }),
    logs: operation({
      summary: 'A container\'s logs: stdout and stderr split from the multiplexed stream (or the raw stream of a TTY container)',
      input: z.object({ id: idIn, tail: z.number().int().min(0).max(1_000_000).optional().describe('Only the last N lines'), timestamps: z.boolean().default(false), since: z.number().int().min(0).optional().describe('Unix time: only lines after it'), encoding: z.enum(['auto', 'text', 'base64', 'hex']).default('auto'), ...common }),
      output: z.object({ tty: z.boolean(), stdout: streamOut, stderr: streamOut, frames: z.array(z.object({ stream: z.string(), bytes: z.number() })), bytes: z.number() }),
      text: (r) => `${r.stdout.text ?? r.stdout.base64 ?? ''}${r.stderr.text ? `\n--- stderr\n${r.stderr.text}` : ''}`,
      async run(ctx, input) {
        const c = rec(await getJson(ctx, input, `/containers/${encodeURIComponent(input.id)}/json`));
        const tty = rec(c.Config).Tty === true;
        const q = new URLSearchParams({ stdout: 'true', stderr: 'true', timestamps: String(input.timestamps) });
        if (input.tail !== undefined) q.set('tail', String(input.tail));
        if (input.since !== undefined) q.set('since', String(input.since));
        const a = await api(ctx, opts(input), 'GET', `/containers/${encodeURIComponent(input.id)}/logs?${q}`);
        if (tty) return { tty, stdout: bytesJson(a.body, input.encoding), stderr: {}, frames: [{ stream: 'stdout', bytes: a.body.length }], bytes: a.body.length };
        const d = demultiplex(a.body);
        if (d.trailing) throw new ProtocolError(`the log stream ends inside a frame (${d.trailing} bytes left over)`);
        return { tty, stdout: bytesJson(d.stdout, input.encoding), stderr: bytesJson(d.stderr, input.encoding), frames: d.frames.slice(0, 10_000), bytes: a.body.length };
      },
    }),
    exec: operation({
      summary: 'Runs a command in a running container (exec create + start): code execution on the target. Its stdout, stderr and exit code',
      runsCode: true,
      input: z.object({
        id: idIn,
        command: z.array(z.string().max(64 * 1024)).min(1).max(1024).describe('The command and its arguments (no shell unless you name one)').meta({ examples: [['ls', '-l', '/']] }),
        env: z.array(z.string().regex(/^[^=\0]+=[^\0]*$/, 'NAME=value')).max(256).default([]),
        workingDir: z.string().max(4096).optional(),
        user: z.string().max(256).optional(),
        encoding: z.enum(['auto', 'text', 'base64', 'hex']).default('auto'),
        ...common,
      }),
      output: z.object({ execId: z.string(), exitCode: z.number().nullable(), stdout: streamOut, stderr: streamOut, frames: z.number() }),
      text: (r) => `${r.stdout.text ?? r.stdout.base64 ?? ''}${r.stderr.text ? `\n--- stderr\n${r.stderr.text}` : ''}\n(exit code ${r.exitCode})`,
      async run(ctx, input) {
        const path = `/containers/${encodeURIComponent(input.id)}/exec`;
        const created = rec(jsonOf(await api(ctx, opts(input), 'POST', path, { Cmd: input.command, Env: input.env, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false, ...(input.workingDir ? { WorkingDir: input.workingDir } : {}), ...(input.user ? { User: input.user } : {}) }), `POST ${path}`));
        const execId = strOf(created.Id);
        if (!execId || !/^[0-9a-f]{12,64}$/.test(execId)) throw new ProtocolError('exec create answered without an Id');
        // Start without detaching: the daemon hijacks the connection and streams the output until the command ends.
        const started = await api(ctx, opts(input), 'POST', `/exec/${execId}/start`, { Detach: false, Tty: false });
        const d = demultiplex(started.body);
        if (d.trailing) throw new ProtocolError(`the exec stream ends inside a frame (${d.trailing} bytes left over)`);
        const info = rec(await getJson(ctx, input, `/exec/${execId}/json`));
        if (info.Running === true) throw new ServerError('the exec output ended while the command still runs');
        return { execId, exitCode: typeof info.ExitCode === 'number' ? info.ExitCode : null, stdout: bytesJson(d.stdout, input.encoding), stderr: bytesJson(d.stderr, input.encoding), frames: d.frames.length };
      },
    }),
  },
});

