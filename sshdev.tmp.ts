// Dev helper: runs an ssh operation in Node against the lab.
import { runOperation } from '/work/main/src/core/runner.ts';
import { NodeDialer } from '/work/main/src/hosts/node/dialer.ts';
import { webCrypto } from '/work/main/src/core/crypto.ts';
import ssh from '/work/main/src/protocols/ssh/index.ts';
const [op, json] = process.argv.slice(2);
const env = { dialer: new NodeDialer(), guard: { check: async () => ({}) }, crypto: webCrypto() };
try {
  const t0 = performance.now(); const c0 = process.cpuUsage();
  const r = await runOperation(env as any, ssh, ssh.operations[op], { host: '127.0.0.1', port: 12222, ...JSON.parse(json?.startsWith("@") ? (await import("node:fs")).readFileSync(json.slice(1), "utf8") : (json ?? "{}")) }, { transcript: process.env.T === '1' });
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify(r, null, 1).slice(0, Number(process.env.MAX ?? 6000)));
  console.log('wall', (performance.now()-t0).toFixed(1), 'cpu', ((c.user+c.system)/1000).toFixed(1));
} catch (e: any) { console.log('ERR', e.code, e.message, JSON.stringify(e.transcript?.entries?.slice(-12) ?? '', null, 0).slice(0, 3000)); }
