// rsh, BSD rshd(8) (no RFC): one command as a trusted user, from a privileged source port (RFC 1282 §"Security"
// explains the trust model that rlogin and rsh share: hosts.equiv and .rhosts, checked against the client's port).
import { z } from 'zod';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { MAX_USER, rshRequest } from './codec.ts';
import { commandFields, commandLine, commandOutput, runCommand } from './run.ts';

const userField = z.string().min(1).max(MAX_USER).regex(/^[A-Za-z0-9._-]+$/, 'user names are letters, digits, . _ -');

export default defineProtocol({
  id: 'rsh',
  title: 'rsh',
  category: 'remote',
  summary: 'Runs one command through rshd as a user that trusts this host (.rhosts / hosts.equiv), from a privileged source port; output and exit status. Node host as root only.',
  ports: [{ port: 514, transport: 'tcp' }],
  specs: ['rshd(8)', 'RFC 1282'],
  rating: {
    stars: 3,
    reason:
      "Command, standard input, output and exit status (the protocol carries none: the command is wrapped to print it), the daemon's refusals as auth_failed; from a port in 512–1023 on the Node host as root, refused with the reason on Workers. Lab-tested against netkit rshd. Standard error shares the output: the second channel needs the server to connect back, which the hosts cannot accept yet.",
  },
  verifiedAgainst: 'netkit rsh-server 0.17-24',
  defaultOperation: 'exec',
  operations: {
    exec: operation({
      summary: 'Run a command as a user whose .rhosts trusts localUser at this host',
      input: z.object({
        user: userField.describe('The account on the server'),
        localUser: userField.optional().describe('The user name this side claims (what .rhosts must list); default: the same as user'),
        ...commandFields,
      }),
      output: commandOutput,
      needs: ['tcp', 'privilegedPort'],
      text: (r) => r.output + (r.exitStatus !== null && r.exitStatus !== 0 ? `\n(exit status ${r.exitStatus})\n` : ''),
      async run(ctx, input) {
        const conn = await ctx.dial({ privilegedSourcePort: true });
        const local = input.localUser ?? input.user;
        const request = rshRequest(0, local, input.user, commandLine(input));
        return runCommand(conn, request, `rsh: no stderr channel (0), ${local} as ${input.user}: ${input.command}`, input, { secret: false });
      },
    }),
  },
});
