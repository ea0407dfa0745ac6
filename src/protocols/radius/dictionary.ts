// The attributes Portolan names: RFC 2865 §5, RFC 2866 §5, RFC 2869 §5, RFC 3162, RFC 4818, RFC 5176, RFC 5997 and the
// vendor-specific attributes (RFC 2865 §5.26) of Microsoft (RFC 2548), Cisco, WISPr and FreeRADIUS that servers commonly send.
export type AttrType = 'string' | 'text' | 'integer' | 'ipaddr' | 'date' | 'octets' | 'ipv6addr' | 'ipv6prefix' | 'ifid';

export interface AttrDef {
  name: string;
  type: AttrType;
  /** Named values of an enumerated integer. */
  values?: Record<number, string>;
  /** Hidden on the wire (User-Password, Tunnel-Password): never decoded into a result or a transcript. */
  secret?: boolean;
}

const SERVICE_TYPE = { 1: 'Login-User', 2: 'Framed-User', 3: 'Callback-Login-User', 4: 'Callback-Framed-User', 5: 'Outbound-User', 6: 'Administrative-User', 7: 'NAS-Prompt-User', 8: 'Authenticate-Only', 9: 'Callback-NAS-Prompt', 10: 'Call-Check', 11: 'Callback-Administrative', 17: 'Authorize-Only' };
const FRAMED_PROTOCOL = { 1: 'PPP', 2: 'SLIP', 3: 'ARAP', 4: 'Gandalf-SLML', 5: 'Xylogics-IPX-SLIP', 6: 'X.75-Synchronous' };
const NAS_PORT_TYPE = { 0: 'Async', 1: 'Sync', 2: 'ISDN', 3: 'ISDN-V120', 4: 'ISDN-V110', 5: 'Virtual', 15: 'Ethernet', 17: 'Cable', 18: 'Wireless-Other', 19: 'Wireless-802.11' };
const ACCT_STATUS_TYPE = { 1: 'Start', 2: 'Stop', 3: 'Interim-Update', 7: 'Accounting-On', 8: 'Accounting-Off' };
const TERMINATE_CAUSE = { 1: 'User-Request', 2: 'Lost-Carrier', 3: 'Lost-Service', 4: 'Idle-Timeout', 5: 'Session-Timeout', 6: 'Admin-Reset', 7: 'Admin-Reboot', 8: 'Port-Error', 9: 'NAS-Error', 10: 'NAS-Request', 11: 'NAS-Reboot', 12: 'Port-Unneeded', 13: 'Port-Preempted', 14: 'Port-Suspended', 15: 'Service-Unavailable', 16: 'Callback', 17: 'User-Error', 18: 'Host-Request' };

/** RFC attributes by type number. */
export const ATTRIBUTES: Record<number, AttrDef> = {
  1: { name: 'User-Name', type: 'text' },
  2: { name: 'User-Password', type: 'octets', secret: true },
  3: { name: 'CHAP-Password', type: 'octets', secret: true },
  4: { name: 'NAS-IP-Address', type: 'ipaddr' },
  5: { name: 'NAS-Port', type: 'integer' },
  6: { name: 'Service-Type', type: 'integer', values: SERVICE_TYPE },
  7: { name: 'Framed-Protocol', type: 'integer', values: FRAMED_PROTOCOL },
  8: { name: 'Framed-IP-Address', type: 'ipaddr' },
  9: { name: 'Framed-IP-Netmask', type: 'ipaddr' },
  10: { name: 'Framed-Routing', type: 'integer', values: { 0: 'None', 1: 'Broadcast', 2: 'Listen', 3: 'Broadcast-Listen' } },
  11: { name: 'Filter-Id', type: 'text' },
  12: { name: 'Framed-MTU', type: 'integer' },
  13: { name: 'Framed-Compression', type: 'integer', values: { 0: 'None', 1: 'Van-Jacobson-TCP-IP', 2: 'IPX-Header-Compression', 3: 'Stac-LZS' } },
  14: { name: 'Login-IP-Host', type: 'ipaddr' },
  15: { name: 'Login-Service', type: 'integer', values: { 0: 'Telnet', 1: 'Rlogin', 2: 'TCP-Clear', 3: 'PortMaster', 4: 'LAT', 5: 'X25-PAD', 6: 'X25-T3POS', 8: 'TCP-Clear-Quiet' } },
  16: { name: 'Login-TCP-Port', type: 'integer' },
  18: { name: 'Reply-Message', type: 'text' },
  19: { name: 'Callback-Number', type: 'text' },
  20: { name: 'Callback-Id', type: 'text' },
  22: { name: 'Framed-Route', type: 'text' },
  23: { name: 'Framed-IPX-Network', type: 'ipaddr' },
  24: { name: 'State', type: 'octets' },
  25: { name: 'Class', type: 'octets' },
  26: { name: 'Vendor-Specific', type: 'octets' },
  27: { name: 'Session-Timeout', type: 'integer' },
  28: { name: 'Idle-Timeout', type: 'integer' },
  29: { name: 'Termination-Action', type: 'integer', values: { 0: 'Default', 1: 'RADIUS-Request' } },
  30: { name: 'Called-Station-Id', type: 'text' },
  31: { name: 'Calling-Station-Id', type: 'text' },
  32: { name: 'NAS-Identifier', type: 'text' },
  33: { name: 'Proxy-State', type: 'octets' },
  34: { name: 'Login-LAT-Service', type: 'text' },
  35: { name: 'Login-LAT-Node', type: 'text' },
  36: { name: 'Login-LAT-Group', type: 'octets' },
  37: { name: 'Framed-AppleTalk-Link', type: 'integer' },
  38: { name: 'Framed-AppleTalk-Network', type: 'integer' },
  39: { name: 'Framed-AppleTalk-Zone', type: 'text' },
  40: { name: 'Acct-Status-Type', type: 'integer', values: ACCT_STATUS_TYPE },
  41: { name: 'Acct-Delay-Time', type: 'integer' },
  42: { name: 'Acct-Input-Octets', type: 'integer' },
  43: { name: 'Acct-Output-Octets', type: 'integer' },
  44: { name: 'Acct-Session-Id', type: 'text' },
  45: { name: 'Acct-Authentic', type: 'integer', values: { 1: 'RADIUS', 2: 'Local', 3: 'Remote', 4: 'Diameter' } },
  46: { name: 'Acct-Session-Time', type: 'integer' },
  47: { name: 'Acct-Input-Packets', type: 'integer' },
  48: { name: 'Acct-Output-Packets', type: 'integer' },
  49: { name: 'Acct-Terminate-Cause', type: 'integer', values: TERMINATE_CAUSE },
  50: { name: 'Acct-Multi-Session-Id', type: 'text' },
  51: { name: 'Acct-Link-Count', type: 'integer' },
  52: { name: 'Acct-Input-Gigawords', type: 'integer' },
  53: { name: 'Acct-Output-Gigawords', type: 'integer' },
  55: { name: 'Event-Timestamp', type: 'date' },
  60: { name: 'CHAP-Challenge', type: 'octets' },
  61: { name: 'NAS-Port-Type', type: 'integer', values: NAS_PORT_TYPE },
  62: { name: 'Port-Limit', type: 'integer' },
  63: { name: 'Login-LAT-Port', type: 'text' },
  64: { name: 'Tunnel-Type', type: 'octets' },
  65: { name: 'Tunnel-Medium-Type', type: 'octets' },
  69: { name: 'Tunnel-Password', type: 'octets', secret: true },
  77: { name: 'Connect-Info', type: 'text' },
  79: { name: 'EAP-Message', type: 'octets' },
  80: { name: 'Message-Authenticator', type: 'octets' },
  81: { name: 'Tunnel-Private-Group-Id', type: 'octets' },
  85: { name: 'Acct-Interim-Interval', type: 'integer' },
  87: { name: 'NAS-Port-Id', type: 'text' },
  88: { name: 'Framed-Pool', type: 'text' },
  89: { name: 'Chargeable-User-Identity', type: 'octets' },
  95: { name: 'NAS-IPv6-Address', type: 'ipv6addr' },
  96: { name: 'Framed-Interface-Id', type: 'ifid' },
  97: { name: 'Framed-IPv6-Prefix', type: 'ipv6prefix' },
  98: { name: 'Login-IPv6-Host', type: 'ipv6addr' },
  99: { name: 'Framed-IPv6-Route', type: 'text' },
  100: { name: 'Framed-IPv6-Pool', type: 'text' },
  101: { name: 'Error-Cause', type: 'integer', values: { 201: 'Residual-Context-Removed', 202: 'Invalid-EAP-Packet', 401: 'Unsupported-Attribute', 402: 'Missing-Attribute', 403: 'NAS-Identification-Mismatch', 404: 'Invalid-Request', 405: 'Unsupported-Service', 406: 'Unsupported-Extension', 501: 'Administratively-Prohibited', 502: 'Request-Not-Routable', 503: 'Session-Context-Not-Found', 504: 'Session-Context-Not-Removable', 505: 'Other-Proxy-Processing-Error', 506: 'Resources-Unavailable', 507: 'Request-Initiated' } },
  123: { name: 'Delegated-IPv6-Prefix', type: 'ipv6prefix' },
};

/** Vendor-Specific sub-attributes (RFC 2865 §5.26: vendor-id, then vendor-type, vendor-length, value), by SMI enterprise number. */
export const VENDORS: Record<number, { name: string; attributes: Record<number, AttrDef> }> = {
  9: { name: 'Cisco', attributes: { 1: { name: 'Cisco-AVPair', type: 'text' }, 2: { name: 'Cisco-NAS-Port', type: 'text' }, 250: { name: 'Cisco-Account-Info', type: 'text' }, 252: { name: 'Cisco-Command-Code', type: 'octets' } } },
  311: {
    name: 'Microsoft',
    attributes: {
      1: { name: 'MS-CHAP-Response', type: 'octets' },
      2: { name: 'MS-CHAP-Error', type: 'text' },
      7: { name: 'MS-MPPE-Encryption-Policy', type: 'integer', values: { 1: 'Encryption-Allowed', 2: 'Encryption-Required' } },
      8: { name: 'MS-MPPE-Encryption-Types', type: 'integer' },
      10: { name: 'MS-CHAP-Domain', type: 'text' },
      11: { name: 'MS-CHAP-Challenge', type: 'octets' },
      16: { name: 'MS-MPPE-Send-Key', type: 'octets', secret: true },
      17: { name: 'MS-MPPE-Recv-Key', type: 'octets', secret: true },
      25: { name: 'MS-CHAP2-Response', type: 'octets' },
      26: { name: 'MS-CHAP2-Success', type: 'octets' },
    },
  },
  14122: { name: 'WISPr', attributes: { 1: { name: 'WISPr-Location-ID', type: 'text' }, 2: { name: 'WISPr-Location-Name', type: 'text' }, 4: { name: 'WISPr-Redirection-URL', type: 'text' }, 7: { name: 'WISPr-Bandwidth-Max-Up', type: 'integer' }, 8: { name: 'WISPr-Bandwidth-Max-Down', type: 'integer' }, 9: { name: 'WISPr-Session-Terminate-Time', type: 'text' } } },
  11344: { name: 'FreeRADIUS', attributes: { 176: { name: 'FreeRADIUS-Statistics-Type', type: 'integer' }, 127: { name: 'FreeRADIUS-Total-Access-Requests', type: 'integer' } } },
  2636: { name: 'Juniper', attributes: { 1: { name: 'Juniper-Local-User-Name', type: 'text' }, 2: { name: 'Juniper-Allow-Commands', type: 'text' }, 3: { name: 'Juniper-Deny-Commands', type: 'text' } } },
  14988: { name: 'Mikrotik', attributes: { 1: { name: 'Mikrotik-Recv-Limit', type: 'integer' }, 2: { name: 'Mikrotik-Xmit-Limit', type: 'integer' }, 3: { name: 'Mikrotik-Group', type: 'text' }, 8: { name: 'Mikrotik-Rate-Limit', type: 'text' } } },
};

const BY_NAME = new Map<string, { type: number; def: AttrDef; vendor?: number }>();
for (const [t, def] of Object.entries(ATTRIBUTES)) BY_NAME.set(def.name.toLowerCase(), { type: Number(t), def });
for (const [v, vendor] of Object.entries(VENDORS)) for (const [t, def] of Object.entries(vendor.attributes)) BY_NAME.set(def.name.toLowerCase(), { type: Number(t), def, vendor: Number(v) });

/** An attribute by its dictionary name (case-insensitive). */
export function attributeByName(name: string): { type: number; def: AttrDef; vendor?: number } | undefined {
  return BY_NAME.get(name.toLowerCase());
}
