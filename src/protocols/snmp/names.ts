// Names for common OIDs: SNMPv2-MIB system group (RFC 3418 §2), IF-MIB (RFC 2863 §6), HOST-RESOURCES-MIB (RFC 2790).
const NAMES: Record<string, string> = {
  iso: '1',
  internet: '1.3.6.1',
  'mib-2': '1.3.6.1.2.1',
  system: '1.3.6.1.2.1.1',
  sysDescr: '1.3.6.1.2.1.1.1',
  sysObjectID: '1.3.6.1.2.1.1.2',
  sysUpTime: '1.3.6.1.2.1.1.3',
  sysContact: '1.3.6.1.2.1.1.4',
  sysName: '1.3.6.1.2.1.1.5',
  sysLocation: '1.3.6.1.2.1.1.6',
  sysServices: '1.3.6.1.2.1.1.7',
  sysORTable: '1.3.6.1.2.1.1.9',
  interfaces: '1.3.6.1.2.1.2',
  ifNumber: '1.3.6.1.2.1.2.1',
  ifTable: '1.3.6.1.2.1.2.2',
  ifIndex: '1.3.6.1.2.1.2.2.1.1',
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifType: '1.3.6.1.2.1.2.2.1.3',
  ifMtu: '1.3.6.1.2.1.2.2.1.4',
  ifSpeed: '1.3.6.1.2.1.2.2.1.5',
  ifPhysAddress: '1.3.6.1.2.1.2.2.1.6',
  ifAdminStatus: '1.3.6.1.2.1.2.2.1.7',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifInOctets: '1.3.6.1.2.1.2.2.1.10',
  ifOutOctets: '1.3.6.1.2.1.2.2.1.16',
  ip: '1.3.6.1.2.1.4',
  tcp: '1.3.6.1.2.1.6',
  udp: '1.3.6.1.2.1.7',
  snmp: '1.3.6.1.2.1.11',
  ifXTable: '1.3.6.1.2.1.31.1.1',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10',
  host: '1.3.6.1.2.1.25',
  hrSystemUptime: '1.3.6.1.2.1.25.1.1',
  hrStorageTable: '1.3.6.1.2.1.25.2.3',
  enterprises: '1.3.6.1.4.1',
  snmpEngineID: '1.3.6.1.6.3.10.2.1.1',
};

const BY_OID = new Map(Object.entries(NAMES).map(([name, oid]) => [oid, name]));

/** `sysDescr.0` → `1.3.6.1.2.1.1.1.0`; dotted OIDs pass (a leading dot is dropped); unknown names give undefined. */
export function resolveOid(text: string): string | undefined {
  const t = text.startsWith('.') ? text.slice(1) : text;
  if (/^\d+(\.\d+)*$/.test(t)) return t;
  const [head, ...rest] = t.split('.');
  const base = NAMES[head];
  if (!base || !rest.every((r) => /^\d+$/.test(r))) return undefined;
  return [base, ...rest].join('.');
}

/** The longest known prefix as a name: `1.3.6.1.2.1.1.5.0` → `sysName.0`; null when none is known at enterprises or mib-2 depth or below. */
export function nameOf(oid: string): string | null {
  const parts = oid.split('.');
  for (let n = parts.length; n >= 6; n--) {
    const name = BY_OID.get(parts.slice(0, n).join('.'));
    if (name) return [name, ...parts.slice(n)].join('.');
  }
  return null;
}
