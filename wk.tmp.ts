import { startWorker } from './test/harness.ts';
const w = await startWorker({ vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off' } });
console.log(w.url, w.child.pid);
let out = '';
w.child.stdout!.on('data', (d) => (out += d)); w.child.stderr!.on('data', (d) => (out += d));
const big = { host: '127.0.0.1', port: 12222, username: 'sshpass', password: 'portolan-pass-1', path: '/home/sshpass/big.bin', output: 'none', timeoutMs: 120000 };
{ const t0 = Date.now(); const res = await fetch(`${w.url}/api/ssh/sftp-get`, { method: 'POST', headers: {'content-type':'application/json'}, body: JSON.stringify(big) }); const t = await res.text(); console.log('big', res.status, t.slice(0, 400), Date.now() - t0); }
const body = { host: '127.0.0.1', port: 12222, username: 'sshpass', password: 'portolan-pass-1', path: 'big.bin', offset: 1234567, length: 3*1024*1024+5, output: 'base64', timeoutMs: 60000 };
try {
  const res = await fetch(`${w.url}/api/ssh/sftp-get`, { method: 'POST', headers: {'content-type':'application/json'}, body: JSON.stringify(body) });
  const t = await res.text(); console.log(res.status, t.length, t.slice(0, 300));
} catch (e) { console.log('ERR', e); }
console.log('LOG', out.slice(-3000));
await w.stop();
