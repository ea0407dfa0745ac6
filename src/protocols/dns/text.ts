// Plain-text answers for curl, laid out the way dig(1) from BIND 9 prints them (header, OPT pseudo-section,
// sections in zone-file form, query time and server), so they read like what DNS people already know.
import type { Edns, Flags, Question } from './codec.ts';
import type { RecordOut } from './client.ts';

export interface MessageView {
  id: number;
  opcode: string;
  rcode: string;
  flags: Flags & { qr?: boolean };
  questions: Question[];
  answers: RecordOut[];
  authority: RecordOut[];
  additional: RecordOut[];
  edns: Edns | null;
}

const FLAG_ORDER: (keyof Flags)[] = ['aa', 'tc', 'rd', 'ra', 'ad', 'cd'];

export function recordLine(rr: RecordOut): string {
  return `${rr.name}\t${rr.ttl}\t${rr.class}\t${rr.type}\t${rr.rdata}`;
}

function optLines(e: Edns): string[] {
  const flags = e.do ? 'do' : '';
  const lines = [';; OPT PSEUDOSECTION:', `; EDNS: version: ${e.version}, flags:${flags ? ` ${flags}` : ''}; udp: ${e.udpSize}`];
  for (const o of e.options) {
    const d = o.data;
    switch (o.name) {
      case 'NSID':
        lines.push(`; NSID: ${o.hex}${d.text ? ` ("${d.text}")` : ''}`);
        break;
      case 'COOKIE':
        lines.push(`; COOKIE: ${d.client}${d.server ? d.server : ''}${d.server ? ' (good)' : ''}`);
        break;
      case 'EDE':
        lines.push(`; EDE: ${d.infoCode} (${d.purpose})${d.extraText ? `: (${d.extraText})` : ''}`);
        break;
      case 'CLIENT-SUBNET':
        lines.push(`; CLIENT-SUBNET: ${d.subnet}/${d.scopePrefix}`);
        break;
      case 'PADDING':
        lines.push(`; PADDING: ${d.length} bytes`);
        break;
      case 'TCP-KEEPALIVE':
        lines.push(`; TCP-KEEPALIVE: ${d.timeoutMs === null ? '-' : `${Number(d.timeoutMs) / 1000} secs`}`);
        break;
      default:
        lines.push(`; ${o.name}: ${o.hex}`);
    }
  }
  return lines;
}

export function renderMessage(m: MessageView, footer: { rttMs: number; server: string; transport: string; size: number; note?: string }): string {
  const flags = ['qr', ...FLAG_ORDER.filter((f) => m.flags[f])].join(' ');
  const out: string[] = [
    `;; ->>HEADER<<- opcode: ${m.opcode}, status: ${m.rcode}, id: ${m.id}`,
    `;; flags: ${flags}; QUERY: ${m.questions.length}, ANSWER: ${m.answers.length}, AUTHORITY: ${m.authority.length}, ADDITIONAL: ${m.additional.length + (m.edns ? 1 : 0)}`,
    '',
  ];
  if (m.edns) out.push(...optLines(m.edns));
  out.push(';; QUESTION SECTION:', ...m.questions.map((q) => `;${q.name}\t\t${q.class}\t${q.type}`), '');
  const section = (title: string, list: RecordOut[]) => {
    if (list.length === 0) return;
    out.push(`;; ${title} SECTION:`, ...list.map(recordLine), '');
  };
  section('ANSWER', m.answers);
  section('AUTHORITY', m.authority);
  section('ADDITIONAL', m.additional);
  if (footer.note) out.push(`;; ${footer.note}`);
  out.push(`;; Query time: ${Math.round(footer.rttMs)} msec`, `;; SERVER: ${footer.server}(${footer.transport})`, `;; MSG SIZE  rcvd: ${footer.size}`);
  return out.join('\n');
}
