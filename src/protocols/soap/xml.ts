// A small XML 1.0 reader for SOAP envelopes and WSDL documents (XML 1.0 5th ed., Namespaces in XML 1.0):
// elements, attributes, text, CDATA, comments and processing instructions skipped, the five predefined
// entities and character references, namespace prefixes resolved. DOCTYPE is refused outright, so no
// entity expansion can happen (no billion laughs, no external entities); depth and node count are capped.
import { ProtocolError } from '../../core/errors.ts';

export interface XmlElement {
  /** The qualified name as written ("soap:Envelope"). */
  name: string;
  local: string;
  /** The namespace URI of the element's prefix (or the default namespace); '' for none. */
  ns: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside the element, concatenated. */
  text: string;
  /** Namespace prefixes in scope (for QName attribute values). */
  scope: Map<string, string>;
}

export interface XmlLimits {
  maxDepth: number;
  maxNodes: number;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z]+);/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0) throw new ProtocolError(`XML character reference ${m} is not a character`);
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new ProtocolError(`XML entity ${m} is not defined (documents with a DOCTYPE are refused)`);
    return v;
  });
}

const NAME = /^[A-Za-z_:][\w.:\u00b7\u00c0-\uffff-]*/;

export function parseXml(text: string, limits: XmlLimits = { maxDepth: 256, maxNodes: 200_000 }): XmlElement {
  let i = 0;
  let nodes = 0;
  const stack: { el: XmlElement; scope: Map<string, string> }[] = [];
  let root: XmlElement | undefined;
  const fail = (what: string): never => {
    throw new ProtocolError(`XML: ${what} at character ${i}`);
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) {
      if (text.slice(i).trim() && stack.length === 0) fail('text outside the root element');
      if (stack.length) stack[stack.length - 1].el.text += decodeEntities(text.slice(i));
      break;
    }
    if (lt > i) {
      const chunk = text.slice(i, lt);
      if (stack.length) stack[stack.length - 1].el.text += decodeEntities(chunk);
      else if (chunk.trim() && !(i === 0 && chunk === '\ufeff')) fail('text outside the root element');
    }
    i = lt;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i);
      if (end < 0) fail('unterminated processing instruction');
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA section');
      if (!stack.length) fail('CDATA outside the root element');
      stack[stack.length - 1].el.text += text.slice(i + 9, end);
      i = end + 3;
    } else if (text.startsWith('<!', i)) {
      fail('a DOCTYPE or other declaration (refused: no entity expansion)');
    } else if (text.startsWith('</', i)) {
      const end = text.indexOf('>', i);
      if (end < 0) fail('unterminated end tag');
      const name = text.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.el.name !== name) fail(`end tag </${name}> does not close <${top?.el.name ?? ''}>`);
      i = end + 1;
    } else {
      i++;
      const m = NAME.exec(text.slice(i, i + 1024));
      if (!m) fail('element name expected');
      const name = m![0];
      i += name.length;
      const raw: [string, string][] = [];
      for (;;) {
        while (i < text.length && /\s/.test(text[i])) i++;
        if (text[i] === '>' || text.startsWith('/>', i)) break;
        const an = NAME.exec(text.slice(i, i + 1024));
        if (!an) fail('attribute name expected');
        i += an![0].length;
        while (/\s/.test(text[i] ?? '')) i++;
        if (text[i] !== '=') fail('"=" expected after an attribute name');
        i++;
        while (/\s/.test(text[i] ?? '')) i++;
        const q = text[i];
        if (q !== '"' && q !== "'") fail('a quoted attribute value expected');
        const end = text.indexOf(q, i + 1);
        if (end < 0) fail('unterminated attribute value');
        raw.push([an![0], decodeEntities(text.slice(i + 1, end))]);
        i = end + 1;
      }
      const selfClosing = text.startsWith('/>', i);
      i += selfClosing ? 2 : 1;
      if (++nodes > limits.maxNodes) fail(`more than ${limits.maxNodes} elements`);
      if (stack.length >= limits.maxDepth) fail(`elements nested deeper than ${limits.maxDepth}`);
      const scope = new Map(stack.length ? stack[stack.length - 1].scope : []);
      const attrs: Record<string, string> = {};
      for (const [k, v] of raw) {
        if (k === 'xmlns') scope.set('', v);
        else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
        attrs[k] = v;
      }
      const colon = name.indexOf(':');
      const prefix = colon < 0 ? '' : name.slice(0, colon);
      const ns = scope.get(prefix);
      if (prefix && ns === undefined && prefix !== 'xml') fail(`namespace prefix "${prefix}" is not declared`);
      const el: XmlElement = { name, local: colon < 0 ? name : name.slice(colon + 1), ns: ns ?? '', attrs, children: [], text: '', scope };
      if (stack.length) stack[stack.length - 1].el.children.push(el);
      else if (root) fail('a second root element');
      else root = el;
      if (!selfClosing) stack.push({ el, scope });
    }
  }
  if (stack.length) throw new ProtocolError(`XML: <${stack[stack.length - 1].el.name}> is never closed`);
  if (!root) throw new ProtocolError('XML: no root element');
  return root;
}

/** Resolves a QName value (an attribute such as type="tns:Point") against the element's namespace scope. */
export function resolveQName(el: XmlElement, qname: string): { ns: string; local: string } {
  const scope = el.scope;
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: scope.get('') ?? '', local: qname };
  return { ns: scope.get(qname.slice(0, colon)) ?? '', local: qname.slice(colon + 1) };
}

export function child(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  return el.children.find((c) => c.local === local && (ns === undefined || c.ns === ns));
}

export function children(el: XmlElement, local: string, ns?: string): XmlElement[] {
  return el.children.filter((c) => c.local === local && (ns === undefined || c.ns === ns));
}

/** An element as JSON: text for a leaf, an object of its children (repeated names as arrays) otherwise. */
export function toJson(el: XmlElement): unknown {
  if (el.attrs['xsi:nil'] === 'true' || el.attrs['xsi:nil'] === '1') return null;
  if (el.children.length === 0) return el.text;
  const repeated = new Set<string>();
  const seen = new Set<string>();
  for (const c of el.children) (seen.has(c.local) ? repeated : seen).add(c.local);
  const out: Record<string, unknown> = {};
  for (const c of el.children) {
    const v = toJson(c);
    if (repeated.has(c.local)) ((out[c.local] ??= []) as unknown[]).push(v);
    else out[c.local] = v;
  }
  return out;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
