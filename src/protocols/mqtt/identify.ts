import { ByteWriter, concat } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'mqtt-connect',
      cost: 3,
      ports: [1883, 8883],
      // CONNECT 3.1.1 with a clean session and no credentials; the broker answers CONNACK (0x20 0x02).
      payload() {
        const body = new ByteWriter().lengthPrefixed('u16', 'MQTT').u8(4).u8(0x02).u16(10).lengthPrefixed('u16', 'portolan-identify').finish();
        return concat([Uint8Array.of(0x10, body.length), body, Uint8Array.of(0xe0, 0)]);
      },
      recognize: (b) => (b.length >= 4 && b[0] === 0x20 && b[1] === 2 ? high('mqtt', { info: `CONNACK return code ${b[3]}` }) : null),
    },
  ],
};
