// Help text generated from the declarations: protocols, their operations, each operation's flags.
import { operationSupport } from '../src/api/describe.ts';
import type { DefinedOperation, Protocol } from '../src/core/protocol.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { PASSWORD_ENV } from './password.ts';
import { kebab, operationProperties, schemaType, type JsonSchema } from './args.ts';

const stars = (n: number) => '★'.repeat(n) + '☆'.repeat(5 - n);

export const USAGE = 'portolan <protocol> <host[:port]> [operation] [--field value ...]';

export function mainHelp(protocols: readonly Protocol[]): string {
  const lines = [
    'Portolan: speak application protocols to a host, from this machine or through a deployed Portolan.',
    '',
    'Usage:',
    `  ${USAGE}`,
    '  portolan <host:port> [operation] [--field value ...]   protocol guessed from the port',
    '  portolan <protocol> --help                              operations of a protocol',
    '  portolan <protocol> <operation> --help                  flags of an operation',
    '  portolan serve [--port 8787] [--host 127.0.0.1] [--allow CIDRs] [--token T]   the Node host (API + UI)',
    '  portolan forward [--remote URL] LOCAL_PORT HOST:PORT   carry local connections through tunnels (psql, redis-cli ...)',
    '  portolan tunnel --stdio [--remote URL] HOST:PORT       stdin/stdout through a tunnel (ssh ProxyCommand)',
    '  portolan ssh forward -L [BIND:]PORT:HOST:PORT USER@SSH  local connections to HOST:PORT over one SSH connection (ssh -L)',
    '',
    'Global flags:',
    '  --json             print the API answer as JSON ({ok, result, timing} or {ok: false, error})',
    '  --transcript       show the decoded wire log (on stderr; inside the JSON with --json)',
    '  --remote URL       run through a deployed Portolan (Worker or Node host) instead of local sockets',
    '  --token T          access token for --remote (Authorization: Bearer)',
    '  -o FILE            a download operation writes the file there (-o - : raw bytes on stdout)',
    '  --file PATH        an upload operation reads the file from there',
    '  --no-color         no colors (also NO_COLOR=1); colors only on a terminal',
    '  --quiet, -q        no status line on stderr',
    '  --password-stdin   read the password from the first line of standard input',
    '  --FIELD-file PATH  fill a text field from a file (--private-key-file ~/.ssh/id_ed25519, --sql-file q.sql)',
    '  --help, -h         this help',
    '',
    'Exit status:',
    ...Object.entries(EXIT_CODES).map(([code, n]) => `  ${String(n).padStart(2)}  ${code}`),
    '   1  failure of the CLI itself',
    '',
    'Protocols:',
  ];
  const byCategory = new Map<string, Protocol[]>();
  for (const p of protocols) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  for (const [category, list] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${category}:`);
    for (const p of list) {
      const ports = p.ports.map((x) => `${x.port}/${x.transport}`).join(',');
      lines.push(`    ${p.id.padEnd(12)} ${stars(p.rating.stars)} ${ports.padEnd(16)} ${p.title}: ${Object.keys(p.operations).join(', ')}`);
    }
  }
  return lines.join('\n');
}

export function protocolHelp(p: Protocol): string {
  const lines = [
    `${p.title} (${p.id}): ${p.summary}`,
    '',
    `Ports:     ${p.ports.map((x) => `${x.port}/${x.transport}${x.label ? ` (${x.label})` : ''}`).join(', ')}${p.tls?.implicit ? `; implicit TLS ${p.tls.implicit.port}` : ''}`,
    `Specs:     ${p.specs.join(', ')}`,
    `Rating:    ${stars(p.rating.stars)} ${p.rating.reason}`,
    `Verified:  ${p.verifiedAgainst ?? 'not lab-verified'}`,
    '',
    `Usage: portolan ${p.id} <host[:port]> [operation] [--field value ...]`,
    '',
    'Operations:',
  ];
  for (const op of Object.values(p.operations)) {
    const dflt = op.name === (p.defaultOperation ?? Object.keys(p.operations)[0]) ? ' (default)' : '';
    lines.push(`  ${op.name.padEnd(14)} ${op.summary}${dflt}${op.session ? ' [interactive]' : ''}`);
    const where = whereItRuns(p, op);
    if (where) lines.push(`  ${''.padEnd(14)} ${where}`);
  }
  lines.push('', `portolan ${p.id} <operation> --help shows an operation's flags.`);
  return lines.join('\n');
}

function whereItRuns(p: Protocol, op: DefinedOperation): string {
  const s = operationSupport(op, p.tlsModes);
  if (s.workers.supported) return '';
  return `needs ${(op.needs ?? []).join(', ')}: local and Node host only; a Worker (--remote) answers unsupported_runtime`;
}

function typeLabel(s: JsonSchema): string {
  if (s.enum) return s.enum.map(String).join('|');
  const t = schemaType(s);
  if (t === 'array') return `${schemaType(s.items)},...`;
  if (t === 'integer') return 'n';
  return t;
}

export function operationHelp(p: Protocol, op: DefinedOperation): string {
  const { props, required } = operationProperties(op);
  const lines = [`${p.title} ${op.name}: ${op.summary}`, '', `Usage: portolan ${p.id} <host[:port]> ${op.name} [flags]   (flags may come anywhere)`, '', 'Flags:'];
  // The declaration's primary fields first, in its order; then the rest.
  const order = [...op.primary.filter((k) => k in props), ...Object.keys(props).filter((k) => !op.primary.includes(k))];
  for (const key of order) {
    const s = props[key];
    if (key === 'host') continue;
    const type = schemaType(s);
    const flag = type === 'boolean' ? `--${kebab(key)}` : `--${kebab(key)} <${typeLabel(s)}>`;
    const notes: string[] = [];
    if (required.includes(key)) notes.push('required');
    if (s.default !== undefined) notes.push(`default ${JSON.stringify(s.default)}`);
    if (type === 'boolean') notes.push(`--no-${kebab(key)} for false`);
    if (type === 'object' && s.properties) notes.push(`or ${Object.keys(s.properties).map((k) => `--${kebab(key)}.${k}`).join(' ')}`);
    if (key === 'username' && !props.user) notes.push('or --user');
    if (key === 'user' && !props.username) notes.push('or --username');
    if (type === 'string' && /key|file|sql|script|content|known/i.test(key)) notes.push(`or --${kebab(key)}-file PATH`);
    if (key === 'password') notes.push(`or --password-stdin${PASSWORD_ENV[p.id] ? `, or ${PASSWORD_ENV[p.id]}` : ''}; asked for on a terminal when the login needs it`);
    const letter = Object.entries(op.cli?.short ?? {}).find(([, field]) => field === key)?.[0];
    if (letter) notes.push(`or -${letter}`);
    if ((s as { 'x-cli-file'?: unknown })['x-cli-file'] === true) notes.push('@file reads a file, - reads standard input');
    lines.push(`  ${flag.padEnd(30)} ${s.description ?? ''}${notes.length ? ` (${notes.join('; ')})` : ''}`.trimEnd());
  }
  const where = whereItRuns(p, op);
  if (where) lines.push('', where);
  return lines.join('\n');
}
