// rexec, BSD rexecd(8) (no RFC): one command with a user name and password, from any source port.
import * as z from 'zod';
import { AuthError } from '../../core/errors.ts';
import { defineProtocol } from '../../core/protocol.ts';
import { MAX_USER, rexecRequest } from './codec.ts';
import { commandLine, commandOperations } from './run.ts';

type RexecInput = { host: string; port: number; timeoutMs: number; tls: 'off'; user: string; password: string; command: string; exitStatus: boolean };

export default defineProtocol({
  id: 'rexec',
  title: 'rexec',
  category: 'remote',
  summary:
    'Runs one command through rexecd with a user name and password (sent in clear text, masked in the transcript); standard output, standard error (on the connection rexecd opens back, Node host) and exit status.',
  ports: [{ port: 512, transport: 'tcp' }],
  specs: ['rexecd(8)', 'rexec(3)'],
  rating: {
    stars: 4,
    reason:
      'Command, standard input, standard output and standard error apart (rexecd connects back to the port this host listens on; Node host), exit status (wrapped, since the protocol has none), wrong passwords as auth_failed; lab-tested against netkit rexecd on the Node host, and on workerd with standard error merged (execMerged) — exec is refused there with the reason. Passwords are limited to 15 characters by rexecd itself.',
  },
  verifiedAgainst: 'netkit rsh-server 0.17-24 (in.rexecd)',
  defaultOperation: 'exec',
  identify: { unprobed: 'rexecd takes a user and password first; not sent' },
  operations: commandOperations<RexecInput>({
    fields: {
      user: z.string().min(1).max(MAX_USER).regex(/^[A-Za-z0-9._-]+$/, 'user names are letters, digits, . _ -'),
      password: z.string().max(15).describe('rexecd reads at most 15 characters; masked in the transcript'),
    },
    needs: ['tcp'],
    reservedBackPort: false,
    summary: {
      exec: 'Run a command, authenticating with a password; standard error on the connection rexecd opens back (Node host)',
      execMerged: 'The same on one connection (Workers, or when rexecd cannot reach this host): standard error mixed into the output',
    },
    connect: (ctx) => ctx.dial(),
    request: (stderrPort, input) => ({
      bytes: rexecRequest(stderrPort, input.user, input.password, commandLine(input)),
      decode: `rexec: ${stderrPort ? `standard error to port ${stderrPort}` : 'no stderr channel (0)'}, ${input.user} **** ${input.command}`,
      secret: true,
    }),
    // netkit rexecd (with PAM) answers a wrong user or password by closing without a word.
    closedBeforeAnswer: () => new AuthError('rexecd closed the connection without its go-ahead byte: that is how it refuses a wrong user name or password'),
  }),
});
