import { fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // OpenWire: the broker sends a WireFormatInfo command (type 1) whose magic is "ActiveMQ".
  greeting: (b) => (b.length >= 13 && b[4] === 0x01 && fromLatin1(b.subarray(5, 13)) === 'ActiveMQ' ? high('activemq', { product: 'ActiveMQ', info: 'OpenWire' }) : null),
};
