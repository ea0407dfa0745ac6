// rexec, BSD rexecd(8) (no RFC): one command with a user name and password, from any source port.
import { z } from 'zod';
import { AuthError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { MAX_USER, rexecRequest } from './codec.ts';
import { commandFields, commandLine, commandOutput, runCommand } from './run.ts';

export default defineProtocol({
  id: 'rexec',
  title: 'rexec',
  category: 'remote',
  summary: 'Runs one command through rexecd with a user name and password (sent in clear text, masked in the transcript); output and exit status.',
  ports: [{ port: 512, transport: 'tcp' }],
  specs: ['rexecd(8)'],
  rating: {
    stars: 3,
    reason:
      'Command, standard input, output and exit status (wrapped, since the protocol has none), wrong passwords as auth_failed; lab-tested against netkit rexecd on both hosts. Standard error shares the output (no second channel). Passwords are limited to 15 characters by rexecd itself.',
  },
  verifiedAgainst: 'netkit rsh-server 0.17-24 (in.rexecd)',
  defaultOperation: 'exec',
  operations: {
    exec: operation({
      summary: 'Run a command, authenticating with a password',
      input: z.object({
        user: z.string().min(1).max(MAX_USER).regex(/^[A-Za-z0-9._-]+$/, 'user names are letters, digits, . _ -'),
        password: z.string().max(15).describe('rexecd reads at most 15 characters; masked in the transcript'),
        ...commandFields,
      }),
      output: commandOutput,
      text: (r) => r.output + (r.exitStatus !== null && r.exitStatus !== 0 ? `\n(exit status ${r.exitStatus})\n` : ''),
      async run(ctx, input) {
        const conn = await ctx.dial();
        const request = rexecRequest(0, input.user, input.password, commandLine(input));
        return runCommand(conn, request, `rexec: no stderr channel (0), ${input.user} **** ${input.command}`, input, {
          secret: true,
          // netkit rexecd (with PAM) answers a wrong user or password by closing without a word.
          closedBeforeAnswer: () => new AuthError('rexecd closed the connection without its go-ahead byte: that is how it refuses a wrong user name or password'),
        });
      },
    }),
  },
});
