// Lab servers of the messaging-activemq area: Apache ActiveMQ 5 (Debian's activemq) with an OpenWire and a STOMP
// connector and simple authentication.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports['messaging-activemq'];

/** What ActiveMQ is configured with: tests assert against these. */
export const activemqFacts = {
  user: 'portolan',
  password: 'activemq-lab-secret',
  brokerName: 'portolan-lab',
};

const activemq: LabServer = {
  name: 'activemq',
  area: 'messaging-activemq',
  packages: ['activemq'],
  ports: [p.openwire, p.stomp],
  async start(ctx) {
    const f = activemqFacts;
    const conf = join(ctx.dir, 'conf');
    mkdirSync(conf, { recursive: true, mode: 0o755 });
    mkdirSync(join(ctx.dir, 'data'), { recursive: true, mode: 0o755 });
    ctx.writeFile(
      'conf/activemq.xml',
      `<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="${f.brokerName}" useJmx="false" persistent="false" advisorySupport="false" dataDirectory="${ctx.dir}/data">
    <plugins>
      <simpleAuthenticationPlugin>
        <users>
          <authenticationUser username="${f.user}" password="${f.password}" groups="users,admins"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:${p.openwire}"/>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${p.stomp}"/>
    </transportConnectors>
  </broker>
</beans>
`,
    );
    ctx.writeFile('conf/log4j2.properties', ['rootLogger.level = WARN', 'rootLogger.appenderRef.console.ref = console', 'appender.console.type = Console', 'appender.console.name = console', 'appender.console.layout.type = PatternLayout', 'appender.console.layout.pattern = %d %-5p %c{1} - %m%n', ''].join('\n'));
    const lib = '/usr/share/activemq/lib';
    await ctx.spawnDaemon({
      command: '/usr/bin/java',
      args: [
        '-Xms64m',
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Xshare:auto',
        `-Dactivemq.home=/usr/share/activemq`,
        `-Dactivemq.base=${ctx.dir}`,
        `-Dactivemq.conf=${conf}`,
        `-Dactivemq.data=${ctx.dir}/data`,
        `-Dlog4j2.configurationFile=${conf}/log4j2.properties`,
        '-Djava.awt.headless=true',
        '-cp',
        `/usr/share/activemq/activemq.jar:${lib}/*:${lib}/optional/*:/usr/share/java/*`,
        'org.apache.activemq.console.Main',
        'start',
        `xbean:file:${conf}/activemq.xml`,
      ],
    });
  },
  async health() {
    // OpenWire: the broker's WireFormatInfo starts with its size, type 1 and the magic "ActiveMQ".
    const wire = await exchange(p.openwire, { until: (b) => b.length >= 13 });
    if (wire[4] !== 1 || wire.subarray(5, 13).toString('latin1') !== 'ActiveMQ') throw new Error(`activemq OpenWire: ${wire.subarray(0, 16).toString('hex')}`);
    const stomp = await exchange(p.stomp, { send: `CONNECT\naccept-version:1.2\nhost:localhost\nlogin:${activemqFacts.user}\npasscode:${activemqFacts.password}\n\n\0`, until: (b) => b.includes(0) });
    if (!stomp.toString('latin1').startsWith('CONNECTED')) throw new Error(`activemq STOMP: ${stomp.toString('latin1').split('\n')[0]}`);
  },
};

export const servers: LabServer[] = [activemq];
