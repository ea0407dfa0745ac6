// SSH jump hosts for every operation (`via`): the runner hands the jump host here, and the
// operation's dials go out from it over direct-tcpip channels (RFC 4254 section 7.2). The jump host
// takes what a direct connection takes: a user certificate for publickey authentication, and
// knownHosts with @cert-authority lines for its host certificate.
import { InvalidInput } from '../../core/errors.ts';
import type { JumpHostProvider } from '../../core/runner.ts';
import { withJumpHost } from './dialer.ts';

export const sshJumpHost: JumpHostProvider = async (ctx, via, fn) => {
  let opened = false;
  try {
    return await withJumpHost(
      ctx,
      {
        host: via.host,
        port: via.port,
        username: via.username,
        password: via.password,
        privateKey: via.privateKey,
        passphrase: via.passphrase,
        certificate: via.certificate,
        hostKeyFingerprint: via.hostKeyFingerprint,
        knownHosts: via.knownHosts,
      },
      (dialer) => {
        opened = true;
        return fn(dialer);
      },
    );
  } catch (e) {
    // A field of the jump host is named as the user wrote it (via.certificate); the operation's own errors pass.
    if (e instanceof InvalidInput && !opened) {
      const issues = (e.detail?.issues ?? []) as { field?: string; message: string }[];
      throw new InvalidInput(issues.map((i) => ({ ...i, field: i.field ? `via.${i.field}` : 'via' })));
    }
    throw e;
  }
};
