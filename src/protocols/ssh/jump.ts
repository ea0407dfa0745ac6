// SSH jump hosts for every operation (`via`): the runner hands the jump host here, and the
// operation's dials go out from it over direct-tcpip channels (RFC 4254 section 7.2).
import type { JumpHostProvider } from '../../core/runner.ts';
import { withJumpHost } from './dialer.ts';

export const sshJumpHost: JumpHostProvider = (ctx, via, fn) =>
  withJumpHost(
    ctx,
    {
      host: via.host,
      port: via.port,
      username: via.username,
      password: via.password,
      privateKey: via.privateKey,
      passphrase: via.passphrase,
      hostKeyFingerprint: via.hostKeyFingerprint,
      knownHosts: via.knownHosts,
    },
    (dialer) => fn(dialer),
  );
