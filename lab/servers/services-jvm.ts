// Lab servers of the services-jvm area (issue 20): the JVM servers of the service plane, Tomcat 10 with two
// AJP connectors (one without a secret, one requiring it) and ZooKeeper. Each starts in under a few seconds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports['services-jvm'];

/** What the JVM servers are configured with: tests assert against these. */
export const jvmFacts = {
  tomcat: {
    /** The secret of the connector on tomcatAjpSecret. */
    secret: 'portolan-ajp-secret',
    /** The echo servlet's mount point. */
    echoPath: '/echo',
  },
};

const TOMCAT_HOME = '/usr/share/tomcat10';

/** JVM flags for a fast start: client compiler only, serial GC, class data sharing. */
const FAST_JVM = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto', '-Xmx256m'];

async function cpong(port: number): Promise<void> {
  const got = await exchange(port, { send: Buffer.from([0x12, 0x34, 0, 1, 10]), until: (b) => b.length >= 5 });
  if (got.subarray(0, 5).toString('hex') !== '4142000109') throw new Error(`Tomcat AJP on ${port}: CPING answered ${got.subarray(0, 8).toString('hex') || 'nothing'}, not CPONG`);
}

const tomcat: LabServer = {
  name: 'tomcat',
  area: 'services-jvm',
  packages: ['tomcat10', 'openjdk-17-jdk-headless'],
  ports: [p.tomcatAjp, p.tomcatAjpSecret],
  async start(ctx) {
    const f = jvmFacts.tomcat;
    const connector = 'protocol="AJP/1.3" address="127.0.0.1" tomcatAuthentication="false" allowedRequestAttributesPattern=".*"';
    ctx.writeFile(
      'conf/server.xml',
      `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector ${connector} port="${p.tomcatAjp}" secretRequired="false" />
    <Connector ${connector} port="${p.tomcatAjpSecret}" secret="${f.secret}" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
`,
    );
    ctx.writeFile('conf/web.xml', readFileSync('/etc/tomcat10/web.xml'));
    ctx.writeFile('conf/logging.properties', readFileSync('/etc/tomcat10/logging.properties'));
    // No jar scanning for TLDs and annotations: seconds saved at start.
    ctx.writeFile('conf/catalina.properties', `${readFileSync('/etc/tomcat10/catalina.properties', 'utf8').replace(/^tomcat\.util\.scan\.StandardJarScanFilter\.jarsToSkip=[\s\S]*?[^\\]\n/m, '')}\ntomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar\n`);
    ctx.writeFile(
      'webapps/ROOT/WEB-INF/web.xml',
      `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="5.0" metadata-complete="true">
  <servlet><servlet-name>echo</servlet-name><servlet-class>Echo</servlet-class></servlet>
  <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>${f.echoPath}/*</url-pattern></servlet-mapping>
</web-app>
`,
    );
    for (const d of ['logs', 'temp', 'work', 'webapps/ROOT/WEB-INF/classes']) ctx.writeFile(`${d}/.keep`, '');
    await ctx.exec('javac', ['-cp', join(TOMCAT_HOME, 'lib/servlet-api.jar'), '-d', join(ctx.dir, 'webapps/ROOT/WEB-INF/classes'), join(ctx.repoRoot, 'lab/services/Echo.java')]);
    await ctx.spawnDaemon({
      command: 'java',
      args: [
        ...FAST_JVM,
        `-Dcatalina.base=${ctx.dir}`,
        `-Dcatalina.home=${TOMCAT_HOME}`,
        `-Djava.io.tmpdir=${ctx.dir}/temp`,
        `-Djava.util.logging.config.file=${ctx.dir}/conf/logging.properties`,
        '-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager',
        '-cp',
        `${TOMCAT_HOME}/bin/bootstrap.jar:${TOMCAT_HOME}/bin/tomcat-juli.jar`,
        'org.apache.catalina.startup.Bootstrap',
        'start',
      ],
    });
  },
  async health() {
    await cpong(p.tomcatAjp);
    await cpong(p.tomcatAjpSecret);
  },
};

const zookeeper: LabServer = {
  name: 'zookeeper',
  area: 'services-jvm',
  packages: ['zookeeperd'],
  ports: [p.zookeeper],
  async start(ctx) {
    const conf = ctx.writeFile(
      'zoo.cfg',
      [
        'tickTime=1000',
        `dataDir=${ctx.dir}/data`,
        `clientPort=${p.zookeeper}`,
        'clientPortAddress=127.0.0.1',
        'minSessionTimeout=2000',
        'maxSessionTimeout=60000',
        // Every four-letter word allowed, no AdminServer (it would take port 8080).
        '4lw.commands.whitelist=*',
        'admin.enableServer=false',
        '',
      ].join('\n'),
    );
    ctx.writeFile('data/.keep', '');
    await ctx.spawnDaemon({ command: 'java', args: [...FAST_JVM, '-cp', '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar', 'org.apache.zookeeper.server.ZooKeeperServerMain', conf] });
  },
  async health() {
    const got = await exchange(p.zookeeper, { send: 'ruok' });
    if (got.toString('latin1') !== 'imok') throw new Error(`zookeeper: ruok answered ${JSON.stringify(got.toString('latin1'))}`);
  },
};

export const servers: LabServer[] = [tomcat, zookeeper];
