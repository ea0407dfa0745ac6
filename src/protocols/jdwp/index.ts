// JDWP: the version, ID sizes, loaded classes and threads of a JVM started with the JDWP agent on TCP.
import * as z from 'zod';
import { ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { JdwpClient } from './client.ts';
import { Commands, JdwpReader, THREAD_STATUS, idBytes, parseAllClasses, parseIdSizes, parseVersion, type IdSizes } from './codec.ts';
import { identification } from './identify.ts';

const versionOut = z.object({ description: z.string(), jdwpMajor: z.number(), jdwpMinor: z.number(), vmVersion: z.string(), vmName: z.string() });
const sizesOut = z.object({ fieldID: z.number(), methodID: z.number(), objectID: z.number(), referenceTypeID: z.number(), frameID: z.number() });

async function attach<T>(ctx: OperationContext, fn: (c: JdwpClient, sizes: IdSizes) => Promise<T>): Promise<T> {
  const c = new JdwpClient(await ctx.dial());
  await c.handshake();
  ctx.timing.mark('handshakeMs');
  const sizes = parseIdSizes(await c.command(Commands.IDSizes));
  const out = await fn(c, sizes);
  await c.dispose();
  return out;
}

export default defineProtocol({
  id: 'jdwp',
  title: 'Java Debug Wire Protocol',
  category: 'remote',
  summary: "Attaches to a JVM's debug agent (-agentlib:jdwp=transport=dt_socket): its version, ID sizes, the classes it has loaded (filtered) and its threads with their state and group. Read-only: nothing is suspended or changed.",
  ports: [{ port: 5005, transport: 'tcp' }],
  specs: ['Java Debug Wire Protocol (JDWP) specification'],
  rating: {
    stars: 4,
    reason:
      'Handshake, VirtualMachine Version, IDSizes, AllClasses (count, filter by name, kind and status), AllThreads with ThreadReference Name, Status and ThreadGroup name, Dispose on leaving; JDWP error codes by name; lab-tested against OpenJDK 17 with the agent on TCP. Read-only by design: no breakpoints, stepping or invocation.',
  },
  verifiedAgainst: 'OpenJDK 17 JDWP agent (Debian openjdk-17)',
  defaultOperation: 'version',
  identify: identification,
  operations: {
    version: operation({
      summary: 'VirtualMachine Version and IDSizes',
      input: z.object({}),
      output: z.object({ version: versionOut, idSizes: sizesOut }),
      text: (r) => `${r.version.vmName} ${r.version.vmVersion}\nJDWP ${r.version.jdwpMajor}.${r.version.jdwpMinor}\n${r.version.description}`,
      run: (ctx) => attach(ctx, async (c, idSizes) => ({ version: parseVersion(await c.command(Commands.Version)), idSizes })),
    }),
    classes: operation({
      summary: 'AllClasses: how many classes are loaded, and those whose name contains a filter',
      input: z.object({
        filter: z.string().max(256).default('').describe('Keep classes whose Java name contains this (java.util.concurrent, MyService); empty keeps all'),
        limit: z.number().int().min(0).max(10_000).default(200).describe('Classes listed at most (the count covers all)'),
      }),
      output: z.object({ total: z.number(), matched: z.number(), classes: z.array(z.object({ name: z.string(), signature: z.string(), kind: z.string(), status: z.number() })), truncated: z.boolean() }),
      text: (r) => `${r.total} classes loaded, ${r.matched} match\n${r.classes.map((c) => `${c.kind}\t${c.name}`).join('\n')}`,
      run: (ctx, input) =>
        attach(ctx, async (c, sizes) => {
          const data = await c.command(Commands.AllClasses);
          const { total, classes, matched } = parseAllClasses(data, sizes, (k) => k.name.includes(input.filter), input.limit);
          return { total, matched, classes, truncated: matched > classes.length };
        }),
    }),
    threads: operation({
      summary: 'AllThreads: every live thread with its name, status and thread group',
      input: z.object({ limit: z.number().int().min(1).max(2000).default(500).describe('Threads described at most') }),
      output: z.object({ total: z.number(), threads: z.array(z.object({ id: z.string(), name: z.string(), status: z.string(), suspended: z.boolean(), group: z.string() })) }),
      text: (r) => r.threads.map((t) => `${t.name}\t${t.status}${t.suspended ? ' (suspended)' : ''}\t${t.group}`).join('\n'),
      run: (ctx, input) =>
        attach(ctx, async (c, sizes) => {
          const r = new JdwpReader(await c.command(Commands.AllThreads), sizes);
          const total = r.count('threads', 100_000);
          const ids: string[] = [];
          for (let i = 0; i < total; i++) ids.push(r.id(sizes.objectID, 'threadID'));
          const groups = new Map<string, string>();
          const threads = [];
          for (const id of ids.slice(0, input.limit)) {
            // A thread that ends between AllThreads and these questions answers INVALID_THREAD: leave it out.
            const name = await c.command(Commands.ThreadName, idBytes(id)).then((d) => new JdwpReader(d).string('name'), (e) => (e instanceof ServerError ? null : Promise.reject(e)));
            if (name === null) continue;
            const st = new JdwpReader(await c.command(Commands.ThreadStatus, idBytes(id)));
            const status = st.i32('threadStatus');
            const suspended = st.i32('suspendStatus') === 1;
            const groupId = new JdwpReader(await c.command(Commands.ThreadGroup, idBytes(id))).id(sizes.objectID, 'group');
            if (!groups.has(groupId)) groups.set(groupId, new JdwpReader(await c.command(Commands.ThreadGroupName, idBytes(groupId))).string('group name'));
            threads.push({ id, name, status: THREAD_STATUS[status] ?? `status ${status}`, suspended, group: groups.get(groupId)! });
          }
          return { total, threads };
        }),
    }),
  },
});
