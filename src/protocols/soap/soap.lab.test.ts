// SOAP against a spyne service (Debian's python3-spyne) published over SOAP 1.1 and 1.2, through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['services-a'].soap };

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('soap', op, { ...target, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

test('soap wsdl: the service, its port address, operations with their SOAP actions and message parts', async () => {
  for (const [path, version] of [['/soap11', '1.1'], ['/soap12', '1.2']] as const) {
    const w = await ok('wsdl', { wsdlPath: `${path}?wsdl` });
    assert.equal(w.name, 'PortolanLab');
    assert.equal(w.targetNamespace, 'urn:portolan:lab');
    const [port] = w.services[0].ports;
    assert.equal(port.soapVersion, version);
    // spyne writes the address from the server's own name, without the port.
    assert.match(port.address, new RegExp(`^http://127\\.0\\.0\\.1(:${target.port})?${path}$`));
    assert.deepEqual(w.operations.map((o: { name: string }) => o.name).sort(), ['add', 'fail', 'make_point', 'say_hello']);
    const add = w.operations.find((o: { name: string }) => o.name === 'add');
    assert.equal(add.soapAction, 'add');
    assert.deepEqual(add.input, ['add: tns:add']);
    assert.deepEqual(add.output, ['addResponse: tns:addResponse']);
  }
});

for (const [path, soapVersion] of [['/soap11', '1.1'], ['/soap12', '1.2']] as const) {
  test(`soap ${soapVersion} calls: a sum, a repeated result, a complex type`, async () => {
    const sum = await ok('call', { path, soapVersion, operation: 'add', params: { a: 40, b: 2 } });
    assert.deepEqual([sum.soapVersion, sum.httpStatus, sum.result, sum.namespace, sum.soapAction], [soapVersion, 200, '42', 'urn:portolan:lab', 'add']);
    assert.equal(sum.body[0].element, 'addResponse');
    const hello = await ok('call', { path, soapVersion, operation: 'say_hello', params: { name: 'Portolan ⚓', times: 3 } });
    assert.deepEqual(hello.result, { string: ['Hello, Portolan ⚓', 'Hello, Portolan ⚓', 'Hello, Portolan ⚓'] });
    const point = await ok('call', { path, soapVersion, operation: 'make_point', params: { x: 3, y: -4 }, namespace: 'urn:portolan:lab' });
    assert.deepEqual(point.result, { x: '3', y: '-4' });
  });

  test(`soap ${soapVersion} faults: code, subcode, reason and detail decoded`, async () => {
    const r = await call('soap', 'call', { ...target, path, soapVersion, operation: 'fail', params: { message: 'asked for <trouble> & more' } });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'server_error');
    const f = r.body.error.detail.fault;
    assert.equal(f.reason, 'asked for <trouble> & more');
    assert.deepEqual(f.detail, { hint: 'asked to fail' });
    if (soapVersion === '1.1') assert.equal(f.code, 'soap11env:Client.LabFault');
    else assert.deepEqual([f.code, f.subcodes], ['soap12env:Sender', ['LabFault']]);
    const unknown = await call('soap', 'call', { ...target, path, soapVersion, operation: 'nothing_here', namespace: 'urn:portolan:lab' });
    assert.equal(unknown.body.error.code, 'server_error');
    // spyne answers an unknown 1.1 operation with a fault, an unknown 1.2 one with a plain-text 500: both said as such.
    assert.match(unknown.body.error.message, soapVersion === '1.1' ? /fault/ : /HTTP 500 .* without a SOAP envelope/);
  });
}

test('soap: an operation missing from the WSDL, a response over the cap, a path that is not SOAP', async () => {
  const missing = await call('soap', 'call', { ...target, path: '/soap11', operation: 'nope' });
  assert.match(missing.body.error.message, /has no operation nope/);
  const capped = await call('soap', 'wsdl', { ...target, wsdlPath: '/soap11?wsdl', maxResponseBytes: 1024 });
  assert.equal(capped.body.error.code, 'protocol_error');
  const notSoap = await call('soap', 'wsdl', { ...target, wsdlPath: '/nothing?wsdl' });
  assert.notEqual(notSoap.status, 200);
});
