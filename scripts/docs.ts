// Generates docs/protocols.md from the registry; `--check` fails when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { protocols } from '../src/protocols/all.ts';
import { operationSupport } from '../src/api/describe.ts';
import { CAPABILITIES } from '../src/core/capabilities.ts';

const stars = (n: number) => '★'.repeat(n) + '☆'.repeat(5 - n);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function render(): string {
  const lines: string[] = [
    '# Protocols',
    '',
    'Generated from the registry (`src/protocols/index.ts`) by `npm run docs`; CI fails when this file is stale.',
    '',
    'Stars are claims: each one is backed by a lab test against the real server named under "Verified against".',
    '',
    '| Protocol | Ports | TLS | Stars | Verified against | Operations |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of protocols) {
    const ports = p.ports.map((x) => `${x.port}/${x.transport}${x.label ? ` (${x.label})` : ''}`).join(', ');
    const tls = p.tlsModes.filter((m) => m !== 'off').join(', ') || '-';
    const ops = Object.values(p.operations).map((o) => `\`${o.name}\`${o.session ? ' (session)' : ''}${o.runsCode ? ' (runs code)' : ''}`).join(', ');
    lines.push(`| **${p.id}** ${cell(p.title)} | ${ports} | ${tls} | ${stars(p.rating.stars)} | ${cell(p.verifiedAgainst ?? 'not lab-verified')} | ${ops} |`);
  }
  lines.push('', '## Ratings', '');
  for (const p of protocols) lines.push(`- **${p.id}** ${stars(p.rating.stars)} — ${p.rating.reason}`);
  lines.push('', '## Identification', '', 'How `identify` names each protocol on a port, from its declaration (`identify`, `src/core/identify.ts`): the greeting its servers send first, its probes (a harmless first message each, cheapest first), how it answers other protocols\' probes, or why it has none.', '');
  lines.push('| Protocol | Greeting | Probes | Answers others | Why none |', '| --- | --- | --- | --- | --- |');
  for (const p of protocols) {
    const id = p.identify;
    const probes = (id?.probes ?? []).map((x) => `\`${x.name}\` (cost ${x.cost}${x.ports.length ? `; first on ${x.ports.join(', ')}` : ''})`).join(', ');
    lines.push(`| ${p.id} | ${id?.greeting ? 'yes' : ''} | ${probes} | ${id?.answers ? 'yes' : ''} | ${cell(id?.unprobed ?? '')} |`);
  }
  lines.push('', '## What runs where', '', 'Operations that need more than the Workers runtime offers answer `501 unsupported_runtime` there, with the reason and the alternative below.', '');
  lines.push('| Operation | Needs | Workers | Node host |', '| --- | --- | --- | --- |');
  let any = false;
  for (const p of protocols) {
    for (const op of Object.values(p.operations)) {
      const support = operationSupport(op, p.tlsModes);
      const tlsOnly = Object.entries(support.workers.tls).filter(([, ok]) => !ok).map(([mode]) => mode);
      if (support.workers.supported && support.node.supported && tlsOnly.length === 0) continue;
      any = true;
      const needs = [...(op.needs ?? ['tcp']), ...Object.entries(op.needsWithTls ?? {}).map(([mode, caps]) => `${caps.join(', ')} with tls ${mode}`)];
      const why = !support.workers.supported
        ? `no: ${cell((support.workers.reasons ?? []).join(' '))}`
        : `yes, except tls ${tlsOnly.join(', ')}`;
      lines.push(`| ${p.id} \`${op.name}\` | ${needs.join('; ')} | ${why} | ${support.node.supported ? 'yes' : 'no'} |`);
    }
  }
  if (!any) lines.push('| (none yet) | | | |');
  lines.push('', '## Capabilities', '', '| Capability | Workers | Why not on Workers | Alternative |', '| --- | --- | --- | --- |');
  for (const [cap, info] of Object.entries(CAPABILITIES)) {
    lines.push(`| ${cap}: ${info.title} | ${info.workersReason ? 'no' : 'yes'} | ${cell(info.workersReason ?? '')} | ${cell(info.alternative ?? '')} |`);
  }
  return lines.join('\n') + '\n';
}

const path = 'docs/protocols.md';
const text = render();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(`${path} is out of date: run \`npm run docs\` and commit it`);
    process.exit(1);
  }
  console.log(`${path} is current (${protocols.length} protocols)`);
} else {
  writeFileSync(path, text);
  console.log(`wrote ${path} (${protocols.length} protocols)`);
}
