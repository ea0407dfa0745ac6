// rsh, BSD rshd(8) (no RFC): one command as a trusted user, from a privileged source port (RFC 1282 §"Security"
// explains the trust model that rlogin and rsh share: hosts.equiv and .rhosts, checked against the client's port).
import * as z from 'zod';
import { defineProtocol } from '../../core/protocol.ts';
import { MAX_USER, rshRequest } from './codec.ts';
import { commandLine, commandOperations } from './run.ts';

const userField = z.string().min(1).max(MAX_USER).regex(/^[A-Za-z0-9._-]+$/, 'user names are letters, digits, . _ -');

type RshInput = { user: string; localUser?: string; command: string; exitStatus: boolean };

export default defineProtocol({
  id: 'rsh',
  title: 'rsh',
  category: 'remote',
  summary:
    'Runs one command through rshd as a user that trusts this host (.rhosts / hosts.equiv), from a privileged source port; standard output, standard error (on the connection rshd opens back) and exit status. Node host as root only.',
  ports: [{ port: 514, transport: 'tcp' }],
  specs: ['rshd(8)', 'rcmd(3)', 'RFC 1282'],
  rating: {
    stars: 4,
    reason:
      "Command, standard input, standard output and standard error apart (rshd connects back from a reserved port to the reserved port this host listens on), exit status (the protocol carries none: the command is wrapped to print it), the daemon's refusals as auth_failed; from a port in 512–1023 on the Node host as root, refused with the reason on Workers. Lab-tested against netkit rshd. No signals to the remote command (the one-byte signal numbers rcmd sends on the second connection).",
  },
  verifiedAgainst: 'netkit rsh-server 0.17-24',
  defaultOperation: 'exec',
  identify: { unprobed: 'rshd answers only a reserved source port and a user name; not sent' },
  operations: commandOperations<RshInput & { host: string; port: number; timeoutMs: number; tls: 'off' }>({
    fields: {
      user: userField.describe('The account on the server'),
      localUser: userField.optional().describe('The user name this side claims (what .rhosts must list); default: the same as user'),
    },
    needs: ['tcp', 'privilegedPort'],
    reservedBackPort: true,
    summary: {
      exec: 'Run a command as a user whose .rhosts trusts localUser at this host; standard error on the connection rshd opens back',
      execMerged: 'The same with no second connection (rshd cannot reach this host): standard error mixed into the output',
    },
    connect: (ctx) => ctx.dial({ privilegedSourcePort: true }),
    request(stderrPort, input) {
      const local = input.localUser ?? input.user;
      return {
        bytes: rshRequest(stderrPort, local, input.user, commandLine(input)),
        decode: `rsh: ${stderrPort ? `standard error to port ${stderrPort}` : 'no stderr channel (0)'}, ${local} as ${input.user}: ${input.command}`,
        secret: false,
      };
    },
  }),
});
