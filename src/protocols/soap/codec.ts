// SOAP 1.1 (W3C Note 2000-05-08) and SOAP 1.2 (W3C Recommendation, Part 1): envelopes, faults; WSDL 1.1
// (W3C Note 2001-03-15) documents summarised: services, ports and their addresses, operations with their
// SOAP actions and messages.
import { ProtocolError } from '../../core/errors.ts';
import { child, children, escapeXml, resolveQName, toJson, type XmlElement } from './xml.ts';

export const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENV = 'http://www.w3.org/2003/05/soap-envelope';
const WSDL = 'http://schemas.xmlsoap.org/wsdl/';
const WSDL_SOAP11 = 'http://schemas.xmlsoap.org/wsdl/soap/';
const WSDL_SOAP12 = 'http://schemas.xmlsoap.org/wsdl/soap12/';

export type SoapVersion = '1.1' | '1.2';

/** A value as XML children: objects become elements, arrays repeat their element, the rest is text. */
function valueXml(name: string, v: unknown, prefix: string, depth = 0): string {
  if (depth > 64) throw new ProtocolError('parameters nested deeper than 64');
  const tag = `${prefix}${name}`;
  if (Array.isArray(v)) return v.map((x) => valueXml(name, x, prefix, depth + 1)).join('');
  if (v === null || v === undefined) return `<${tag} xsi:nil="true"/>`;
  if (typeof v === 'object') return `<${tag}>${Object.entries(v as Record<string, unknown>).map(([k, x]) => valueXml(k, x, prefix, depth + 1)).join('')}</${tag}>`;
  return `<${tag}>${escapeXml(String(v))}</${tag}>`;
}

/** A document/literal-wrapped request: the operation element in the target namespace, one child per parameter. */
export function buildEnvelope(version: SoapVersion, namespace: string, operation: string, params: Record<string, unknown>, headerXml = ''): string {
  const env = version === '1.1' ? SOAP11_ENV : SOAP12_ENV;
  if (!/^[A-Za-z_][\w.-]*$/.test(operation)) throw new ProtocolError(`operation ${JSON.stringify(operation)} is not an XML name`);
  for (const k of Object.keys(params)) if (!/^[A-Za-z_][\w.-]*$/.test(k)) throw new ProtocolError(`parameter ${JSON.stringify(k)} is not an XML name`);
  const body = `<t:${operation}>${Object.entries(params).map(([k, v]) => valueXml(k, v, 't:')).join('')}</t:${operation}>`;
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${env}" xmlns:t="${escapeXml(namespace)}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${headerXml ? `<soap:Header>${headerXml}</soap:Header>` : ''}<soap:Body>${body}</soap:Body></soap:Envelope>`;
}

export interface Fault {
  /** SOAP 1.1 faultcode, or SOAP 1.2 Code/Value with its Subcode values. */
  code: string;
  subcodes: string[];
  reason: string;
  actor: string | null;
  detail: unknown;
}

export type SoapResponse = { version: SoapVersion; fault: Fault; body?: undefined; headers: unknown } | { version: SoapVersion; fault?: undefined; body: { element: string; ns: string; value: unknown }[]; headers: unknown };

export function parseEnvelope(root: XmlElement): SoapResponse {
  if (root.local !== 'Envelope' || (root.ns !== SOAP11_ENV && root.ns !== SOAP12_ENV)) throw new ProtocolError(`the response is not a SOAP envelope (root element ${root.name} in ${JSON.stringify(root.ns)})`);
  const version: SoapVersion = root.ns === SOAP11_ENV ? '1.1' : '1.2';
  const header = child(root, 'Header', root.ns);
  const body = child(root, 'Body', root.ns);
  if (!body) throw new ProtocolError('the SOAP envelope has no Body');
  const headers = header ? toJson(header) : null;
  const f = child(body, 'Fault', root.ns);
  if (f) return { version, fault: version === '1.1' ? fault11(f) : fault12(f), headers };
  return { version, body: body.children.map((c) => ({ element: c.local, ns: c.ns, value: toJson(c) })), headers };
}

/** SOAP 1.1 section 4.4: faultcode, faultstring, faultactor, detail (unqualified children). */
function fault11(f: XmlElement): Fault {
  const text = (n: string) => child(f, n)?.text.trim() ?? null;
  const d = child(f, 'detail');
  return { code: text('faultcode') ?? '', subcodes: [], reason: text('faultstring') ?? '', actor: text('faultactor'), detail: d ? toJson(d) : null };
}

/** SOAP 1.2 Part 1 section 5.4: Code (Value, Subcode...), Reason (Text), Role, Detail. */
function fault12(f: XmlElement): Fault {
  const ns = SOAP12_ENV;
  const code = child(f, 'Code', ns);
  const subcodes: string[] = [];
  let sub = code && child(code, 'Subcode', ns);
  for (let n = 0; sub && n < 16; n++) {
    subcodes.push(child(sub, 'Value', ns)?.text.trim() ?? '');
    sub = child(sub, 'Subcode', ns);
  }
  const reason = child(f, 'Reason', ns);
  const d = child(f, 'Detail', ns);
  const role = child(f, 'Role', ns)?.text.trim();
  return { code: (code && child(code, 'Value', ns)?.text.trim()) ?? '', subcodes, reason: (reason && children(reason, 'Text', ns)[0]?.text.trim()) ?? '', actor: role || null, detail: d ? toJson(d) : null };
}

export interface WsdlSummary {
  name: string | null;
  targetNamespace: string;
  services: { name: string; ports: { name: string; binding: string; soapVersion: SoapVersion | null; address: string | null }[] }[];
  operations: { name: string; binding: string; soapVersion: SoapVersion | null; soapAction: string | null; style: string | null; input: string[]; output: string[] }[];
}

/** WSDL 1.1: services and ports (with soap:address), bindings' operations (soapAction, style) and the parts of their messages. */
export function summariseWsdl(root: XmlElement): WsdlSummary {
  if (root.local !== 'definitions' || root.ns !== WSDL) throw new ProtocolError(`not a WSDL 1.1 document (root element ${root.name})`);
  const tns = root.attrs.targetNamespace ?? '';
  const messages = new Map(children(root, 'message', WSDL).map((m) => [m.attrs.name, children(m, 'part', WSDL).map((p) => `${p.attrs.name}: ${p.attrs.element ?? p.attrs.type ?? '?'}`)]));
  const portTypes = new Map(children(root, 'portType', WSDL).map((pt) => [pt.attrs.name, pt]));
  const bindingVersion = (b: XmlElement): SoapVersion | null => (child(b, 'binding', WSDL_SOAP11) ? '1.1' : child(b, 'binding', WSDL_SOAP12) ? '1.2' : null);
  const bindings = children(root, 'binding', WSDL);
  const operations: WsdlSummary['operations'] = [];
  for (const b of bindings) {
    const version = bindingVersion(b);
    const soapNs = version === '1.2' ? WSDL_SOAP12 : WSDL_SOAP11;
    const bindingStyle = child(b, 'binding', soapNs)?.attrs.style ?? null;
    const pt = portTypes.get(resolveQName(b, b.attrs.type ?? '').local);
    for (const op of children(b, 'operation', WSDL)) {
      const soapOp = child(op, 'operation', soapNs);
      const ptOp = pt && children(pt, 'operation', WSDL).find((o) => o.attrs.name === op.attrs.name);
      const parts = (io: string) => {
        const m = ptOp && child(ptOp, io, WSDL);
        return m ? (messages.get(resolveQName(m, m.attrs.message ?? '').local) ?? []) : [];
      };
      operations.push({ name: op.attrs.name, binding: b.attrs.name, soapVersion: version, soapAction: soapOp?.attrs.soapAction ?? null, style: soapOp?.attrs.style ?? bindingStyle, input: parts('input'), output: parts('output') });
    }
  }
  const services = children(root, 'service', WSDL).map((s) => ({
    name: s.attrs.name,
    ports: children(s, 'port', WSDL).map((p) => {
      const binding = resolveQName(p, p.attrs.binding ?? '').local;
      const b = bindings.find((x) => x.attrs.name === binding);
      const address = child(p, 'address', WSDL_SOAP11) ?? child(p, 'address', WSDL_SOAP12);
      return { name: p.attrs.name, binding, soapVersion: b ? bindingVersion(b) : null, address: address?.attrs.location ?? null };
    }),
  }));
  return { name: root.attrs.name ?? null, targetNamespace: tns, services, operations };
}
