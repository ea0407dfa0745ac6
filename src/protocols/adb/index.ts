// ADB, the Android Debug Bridge host protocol: the adb server's version, its devices, connecting TCP
// devices, and a track-devices session that shows every change of the device list.
import * as z from 'zod';
import { PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { readBlock, request } from './client.ts';
import { parseDevices, type Device } from './codec.ts';
import { identification } from './identify.ts';

const deviceOut = z.object({ serial: z.string(), state: z.string(), properties: z.record(z.string(), z.string()), extra: z.array(z.string()) });

const address = z
  .string()
  .min(1, 'address is required')
  .max(300)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'address is host:port of a device in TCP mode')
  .meta({ examples: ['192.0.2.10:5555'] });

async function devices(ctx: OperationContext): Promise<{ devices: Device[]; raw: string }> {
  const conn = await ctx.dial();
  await request(conn, 'host:devices-l');
  const raw = await readBlock(conn, 'device list');
  return { devices: parseDevices(raw), raw };
}

const deviceText = (list: Device[]) =>
  list.length ? list.map((d) => `${d.serial}\t${d.state}${Object.keys(d.properties).length ? `\t${Object.entries(d.properties).map(([k, v]) => `${k}:${v}`).join(' ')}` : ''}`).join('\n') : 'no devices';

export default defineProtocol({
  id: 'adb',
  title: 'Android Debug Bridge (host protocol)',
  category: 'remote',
  summary: "Talks to an adb server: its version, the devices it sees (with product, model and transport), connecting or disconnecting TCP devices, and a session that tracks the device list as it changes.",
  ports: [{ port: 5037, transport: 'tcp' }],
  specs: ['AOSP adb SERVICES.TXT, OVERVIEW.TXT'],
  rating: {
    stars: 4,
    reason:
      'host:version, host:devices-l (serial, state, key:value properties), host:connect and host:disconnect with the server\'s own answer, FAIL messages, and host:track-devices as a session that reports each change; lab-tested against Debian\'s adb 29 server with no USB devices, a TCP "device" appearing offline and going away. No device services (shell:, sync:): they need a device.',
  },
  verifiedAgainst: 'adb server 29.0.6 (Debian)',
  defaultOperation: 'version',
  identify: identification,
  operations: {
    version: operation({
      summary: "host:version: the adb server's protocol version",
      input: z.object({}),
      output: z.object({ version: z.number(), hex: z.string() }),
      text: (r) => `adb server version ${r.version}`,
      async run(ctx) {
        const conn = await ctx.dial();
        await request(conn, 'host:version');
        const hex = await readBlock(conn, 'version');
        if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new PortolanError('protocol_error', `version ${JSON.stringify(hex)} is not hex`);
        return { version: parseInt(hex, 16), hex };
      },
    }),
    devices: operation({
      summary: 'host:devices-l: the devices the server sees, with their state and properties',
      input: z.object({}),
      output: z.object({ devices: z.array(deviceOut), raw: z.string() }),
      text: (r) => deviceText(r.devices),
      run: (ctx) => devices(ctx),
    }),
    connect: operation({
      summary: 'host:connect: ask the server to connect to a device in TCP mode (adb connect)',
      input: z.object({ address }),
      output: z.object({ connected: z.boolean(), message: z.string() }),
      defaultTimeoutMs: 15_000,
      text: (r) => r.message,
      async run(ctx, input) {
        const conn = await ctx.dial();
        await request(conn, `host:connect:${input.address}`);
        const message = await readBlock(conn, 'connect answer');
        return { connected: /^(already )?connected to/.test(message), message };
      },
    }),
    disconnect: operation({
      summary: 'host:disconnect: drop a TCP device (adb disconnect)',
      input: z.object({ address }),
      output: z.object({ message: z.string() }),
      text: (r) => r.message,
      async run(ctx, input) {
        const conn = await ctx.dial();
        await request(conn, `host:disconnect:${input.address}`);
        return { message: await readBlock(conn, 'disconnect answer') };
      },
    }),
    track: operation({
      summary: 'host:track-devices: a session that sends the device list now and after every change',
      input: z.object({}),
      output: z.object({ updates: z.number(), ended: z.enum(['client', 'server']) }),
      async session(ctx, _input, channel) {
        const conn = await ctx.dial();
        await request(conn, 'host:track-devices');
        let updates = 0;
        const fromServer = (async (): Promise<'server'> => {
          for (;;) {
            let raw: string;
            try {
              raw = await readBlock(conn, 'device list');
            } catch (e) {
              if (e instanceof PortolanError && e.code === 'closed') return 'server';
              throw e;
            }
            updates++;
            channel.send({ type: 'devices', devices: parseDevices(raw), raw });
          }
        })();
        const fromClient = (async (): Promise<'client'> => {
          while ((await channel.receive()) !== null) channel.send({ type: 'error', error: { code: 'invalid_input', message: 'this session only reports; close it to stop' } });
          return 'client';
        })();
        fromServer.catch(() => undefined);
        const ended = await Promise.race([fromServer, fromClient]);
        return { updates, ended };
      },
    }),
  },
});
