// Docker Engine API against Podman 4.3's Docker-compatible service (containers running with runc), through workerd;
// TLS with a client certificate (HAProxy verifying it in front of the API) through the Node host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { labDir, ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const p = ports['services-a'];
const f = servicesFacts.docker;
const target = { host: '127.0.0.1', port: p.docker };
const upstream = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'podman'], { encoding: 'utf8' }).replace(/\+.*$/, '');
const node = useNodeHost();

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('docker', op, { ...target, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

test('docker version and info: Podman\'s engine, the API version, the containers it runs', async () => {
  const v = await ok('version', {});
  assert.equal(v.version, upstream);
  assert.match(v.apiVersion, /^1\.\d+$/);
  assert.equal(v.os, 'linux');
  assert.ok(v.components.some((c: { name: string }) => c.name === 'Podman Engine'));
  const i = await ok('info', {});
  assert.ok(i.running >= 1, JSON.stringify(i));
  assert.ok(i.containers >= 2);
  assert.equal(i.driver, 'vfs');
});

test('docker containers and images: the lab\'s running and stopped containers, inspected; the imported image', async () => {
  const all = (await ok('containers', {})).containers;
  const running = all.find((c: { names: string[] }) => c.names.includes(`/${f.running}`));
  const stopped = all.find((c: { names: string[] }) => c.names.includes(`/${f.stopped}`));
  assert.equal(running.state, 'running');
  assert.equal(running.image, f.image);
  assert.deepEqual(running.labels, { portolan: 'lab' });
  assert.notEqual(stopped.state, 'running');
  const onlyRunning = (await ok('containers', { all: false })).containers;
  assert.ok(!onlyRunning.some((c: { names: string[] }) => c.names.includes(`/${f.stopped}`)));
  const inspected = await ok('containers', { id: f.running });
  assert.equal(inspected.containers[0].state, 'running');
  assert.equal(inspected.inspect.Id, running.id);
  assert.deepEqual(inspected.inspect.Config.Cmd.slice(0, 2), ['/bin/sh', '-c']);
  const images = (await ok('images', {})).images;
  assert.ok(images.some((im: { tags: string[] }) => im.tags.includes(f.image)), JSON.stringify(images));
});

test('docker logs: stdout and stderr of the running container split from the multiplexed stream', async () => {
  const r = await ok('logs', { id: f.running });
  assert.equal(r.tty, false);
  assert.equal(r.stdout.text, f.stdout.map((l) => `${l}\n`).join(''));
  assert.equal(r.stderr.text, f.stderr.map((l) => `${l}\n`).join(''));
  // Two pipes, so the order of stdout and stderr lines between them is the log driver's; the count is not.
  assert.deepEqual(r.frames.map((x: { stream: string }) => x.stream).sort(), ['stderr', 'stdout', 'stdout']);
  const tail = await ok('logs', { id: f.running, tail: 1 });
  assert.equal(tail.frames.length, 1);
});

test('docker exec: a command run in the container, its stdout, stderr and exit code', async () => {
  const r = await ok('exec', { id: f.running, command: ['/bin/sh', '-c', 'echo "in $PWD as $(id -u)"; echo to-stderr >&2; exit 3'], workingDir: '/bin' });
  assert.deepEqual([r.stdout.text, r.stderr.text, r.exitCode], ['in /bin as 0\n', 'to-stderr\n', 3]);
  const env = await ok('exec', { id: f.running, command: ['/bin/sh', '-c', 'echo $PORTOLAN'], env: ['PORTOLAN=⚓ lab'] });
  assert.deepEqual([env.stdout.text, env.exitCode], ['⚓ lab\n', 0]);
});

test('docker errors: a missing container in the daemon\'s words, a proxy\'s 401, an answer over the cap', async () => {
  const missing = await call('docker', 'logs', { ...target, id: 'no-such-container' });
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /HTTP 404: no container with name or ID "no-such-container" found/);
  const stopped = await call('docker', 'exec', { ...target, id: f.stopped, command: ['/bin/true'] });
  assert.equal(stopped.body.error.code, 'server_error');
  const noAuth = await call('docker', 'version', { host: '127.0.0.1', port: p.dockerBasic });
  assert.equal(noAuth.body.error.code, 'auth_failed');
  assert.match(noAuth.body.error.message, /HTTP 401/);
  assert.match(noAuth.body.error.message, /realm="docker"/);
  const withAuth = await call('docker', 'version', { host: '127.0.0.1', port: p.dockerBasic, username: f.user, password: f.password });
  assert.equal(withAuth.body.result.version, upstream);
  const capped = await call('docker', 'info', { ...target, maxResponseBytes: 1024 });
  assert.equal(capped.body.error.code, 'protocol_error');
});

test('docker over TLS with a client certificate: the Node host, and workerd through the Portolan TLS engine; without one the TLS front refuses', async () => {
  const clientCert = { certPem: readFileSync(`${labDir}/docker/client.pem`, 'utf8'), keyPem: readFileSync(`${labDir}/docker/client.key`, 'utf8') };
  const tls = { host: 'localhost', port: p.dockerTls, tls: 'implicit' };
  const r = await callNode(node, 'docker', 'version', { ...tls, clientCert });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.version, upstream);
  const logs = await callNode(node, 'docker', 'logs', { ...tls, clientCert, id: f.running });
  assert.equal(logs.body.result.stderr.text, f.stderr.map((l) => `${l}\n`).join(''));
  const without = await callNode(node, 'docker', 'version', tls);
  assert.notEqual(without.status, 200);
  assert.match(without.body.error.code, /tls_error|closed/);
  // On Workers, Portolan's own TLS engine presents the certificate; the runtime's TLS cannot, and says so.
  const workers = await call('docker', 'version', { ...tls, clientCert });
  assert.equal(workers.status, 200, JSON.stringify(workers.body));
  assert.equal(workers.body.result.version, upstream);
  const runtime = await call('docker', 'version', { ...tls, clientCert, tlsEngine: 'runtime' });
  assert.equal(runtime.status, 501, JSON.stringify(runtime.body));
  assert.deepEqual(runtime.body.error.detail.missing, ['clientCert']);
});
