// Apache httpd configuration for the lab's HTTP/2 servers (the h2c Upgrade, server push).
import { join } from 'node:path';
import type { LabContext } from './server.ts';

/**
 * An httpd.conf for Apache with mod_http2 serving `html/` under the server's dir on 127.0.0.1:`port`, h2c by
 * Upgrade and with prior knowledge; `extra` adds modules and directives (mod_headers and H2Push for push).
 */
export function apacheH2cConf(ctx: LabContext, port: number, extra: { modules?: string[]; directives?: string } = {}): string {
  const mod = (name: string) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`;
  return ctx.writeFile(
    'httpd.conf',
    `ServerRoot ${ctx.dir}
DefaultRuntimeDir ${ctx.dir}
PidFile ${join(ctx.dir, 'httpd.pid')}
Listen 127.0.0.1:${port}
ServerName localhost
User www-data
Group www-data
ErrorLog ${join(ctx.dir, 'error.log')}
LogLevel warn
${['mpm_event', 'authz_core', 'mime', ...(extra.modules ?? []), 'http2'].map(mod).join('\n')}
TypesConfig /etc/mime.types
DocumentRoot ${join(ctx.dir, 'html')}
<Directory ${join(ctx.dir, 'html')}>
  Require all granted
</Directory>
Protocols h2c http/1.1
H2Upgrade on
H2Direct on
${extra.directives ?? ''}`,
  );
}
