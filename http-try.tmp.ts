import { runOperation } from '/work/main/src/core/runner.ts';
import { NodeDialer } from '/work/main/src/hosts/node/dialer.ts';
import { protocols } from '/work/main/src/protocols/index.ts';
const [proto, op, json] = process.argv.slice(2);
const p = protocols.find((x) => x.id === proto)!;
const crypto = (await import('/work/main/src/core/crypto.ts')) as any;
const env = { dialer: new NodeDialer(), guard: { check: async () => ({}) }, crypto: crypto.webCrypto() };
try {
  const a = await runOperation(env as any, p, p.operations[op], JSON.parse(json), { transcript: process.env.T === '1' });
  console.log(JSON.stringify(a, null, 1).slice(0, Number(process.env.MAX ?? 4000)));
} catch (e) { console.log('ERR', e); }
