// SSDP codec: M-SEARCH bytes (multicast and unicast forms) and minidlna's search response, captured in the lab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeResponse, encodeSearch, isNotify } from './codec.ts';

test('ssdp: multicast M-SEARCH carries MX; unicast leaves it out (UDA 2.0 §1.3.2)', () => {
  assert.equal(new TextDecoder().decode(encodeSearch({ host: '239.255.255.250:1900', st: 'ssdp:all', mx: 2 })), 'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n');
  assert.ok(!new TextDecoder().decode(encodeSearch({ host: '192.0.2.1:1900', st: 'upnp:rootdevice' })).includes('MX:'));
});

test("ssdp: minidlna's response decodes with ST, USN, LOCATION, SERVER and max-age", () => {
  const r = decodeResponse(
    utf8(
      'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1810\r\nDATE: Thu, 26 Nov 2026 16:31:22 GMT\r\nST: upnp:rootdevice\r\nUSN: uuid:4d696e69-444c-164e-9d41-554e4b4e4f57::upnp:rootdevice\r\nEXT:\r\nSERVER: Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0\r\nLOCATION: http://0.0.0.0:18200/rootDesc.xml\r\nContent-Length: 0\r\n\r\n',
    ),
  );
  assert.deepEqual([r.status, r.st, r.usn, r.location, r.server, r.maxAge], [200, 'upnp:rootdevice', 'uuid:4d696e69-444c-164e-9d41-554e4b4e4f57::upnp:rootdevice', 'http://0.0.0.0:18200/rootDesc.xml', 'Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0', 1810]);
  assert.equal(r.headers.EXT, '');
  assert.ok(isNotify(utf8('NOTIFY * HTTP/1.1\r\n')));
  assert.throws(() => decodeResponse(utf8('M-SEARCH * HTTP/1.1\r\n\r\n')), /not an SSDP search response/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      try {
        decodeResponse(b);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
