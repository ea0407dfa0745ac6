import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { encodeCommandLine, parseInfo, parseServersState, parseSessions, parseStatCsv, severityOf } from './codec.ts';

// Answers as HAProxy 2.6 writes them on its runtime API.
const STAT = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,status,weight,check_status,addr,\nweb,FRONTEND,,,1,2,200,7,100,200,OPEN,,,,\napp,s1,0,0,0,1,,3,50,60,MAINT,10,,127.0.0.1:20011,\napp,BACKEND,0,0,0,1,20,3,50,60,UP,20,,,\n\n';
const STATE =
  '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n3 app 1 s1 127.0.0.1 2 0 10 10 4 1 0 2 0 0 0 0 - 20011 - 0 0 - - 0\n\n';
const SESS =
  '0x7f53e0039c10: proto=tcpv4 src=127.0.0.1:41102 fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0 age=0s calls=1 rate=1 cpu=0 lat=0 rq[f=c08002h,i=0,an=00h,rx=10s,wx=,ax=] rp[f=80008000h,i=0] scf=[8,0h,fd=13] exp=10s rc=0 c_exp=\n\n';

test('show info: name/value lines', () => {
  const info = parseInfo('Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nUptime: 0d 0h00m03s\nUptime_sec: 3\n\n');
  assert.deepEqual(info, { Name: 'HAProxy', Version: '2.6.12-1+deb12u4', Uptime: '0d 0h00m03s', Uptime_sec: '3' });
});

test('show stat: CSV rows with numbers typed and empty cells left out', () => {
  const t = parseStatCsv(STAT);
  assert.deepEqual(t.columns.slice(0, 3), ['pxname', 'svname', 'qcur']);
  assert.equal(t.columns.at(-1), 'addr');
  assert.equal(t.rows.length, 3);
  assert.deepEqual(t.rows[1], { pxname: 'app', svname: 's1', qcur: 0, qmax: 0, scur: 0, smax: 1, stot: 3, bin: 50, bout: 60, status: 'MAINT', weight: 10, addr: '127.0.0.1:20011' });
  assert.throws(() => parseStatCsv('web,FRONTEND\n'), ProtocolError);
});

test('show servers state: version, header and rows', () => {
  const s = parseServersState(STATE);
  assert.equal(s.version, 1);
  assert.equal(s.servers.length, 1);
  assert.equal(s.servers[0].srv_name, 's1');
  assert.equal(s.servers[0].srv_uweight, 10);
  assert.equal(s.servers[0].srv_fqdn, '-');
  assert.throws(() => parseServersState('x\n# be_id\n'), ProtocolError);
});

test('show sess: one stream per line with its key=value fields, bracketed values kept whole', () => {
  const [s] = parseSessions(SESS);
  assert.equal(s.id, '0x7f53e0039c10');
  assert.equal(s.fields.fe, 'GLOBAL');
  assert.equal(s.fields.src, '127.0.0.1:41102');
  assert.equal(s.fields.rq, '[f=c08002h,i=0,an=00h,rx=10s,wx=,ax=]');
  assert.equal(s.fields.scf, '[8,0h,fd=13]');
  assert.equal(s.fields.c_exp, '');
});

test('severity output: "[3]: message" is an error level, an empty answer has none', () => {
  assert.deepEqual(severityOf('\n[3]: No such server.\n\n'), { level: 3, message: 'No such server.' });
  assert.deepEqual(severityOf('\n\n'), { level: null, message: '' });
  assert.equal(encodeCommandLine(['set severity-output number', 'disable server app/s1']), 'set severity-output number; disable server app/s1\n');
  assert.throws(() => encodeCommandLine(['show info\nshutdown sessions']), ProtocolError);
});

test('parsers never throw anything but ProtocolError on arbitrary text', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.constantFrom(STAT, STATE, SESS).chain((s) => fc.nat(s.length).map((n) => s.slice(0, n)))), (text) => {
      for (const parse of [parseInfo, parseStatCsv, parseServersState, parseSessions, severityOf]) {
        try {
          parse(text);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }),
    { numRuns: 500 },
  );
});
