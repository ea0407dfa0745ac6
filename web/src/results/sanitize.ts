// An allow-list sanitizer for a mail message's HTML, over a DOMParser tree (the parsed document never runs:
// DOMParser documents have scripting disabled and load nothing). Elements that can run, load, embed or submit
// are removed with their content; other unknown elements are unwrapped; only the attributes listed survive,
// URLs only with safe schemes. Images: data: always, cid: replaced by the message's own part, http(s) only
// when remote images are allowed. The result goes into a sandboxed iframe under a CSP that blocks all loads.

/** Removed with everything inside them. */
const DROP = new Set(['script', 'noscript', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input', 'button', 'select', 'option', 'optgroup', 'textarea', 'template', 'svg', 'math', 'link', 'meta', 'base', 'title', 'audio', 'video', 'source', 'track', 'canvas', 'portal', 'dialog', 'head']);

const KEEP = new Set([
  'a', 'abbr', 'address', 'article', 'aside', 'b', 'bdi', 'bdo', 'big', 'blockquote', 'br', 'caption', 'center', 'cite', 'code', 'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption', 'figure', 'font', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'i', 'img', 'ins', 'kbd', 'label', 'li', 'main', 'mark', 'nav', 'ol', 'p', 'pre', 'q', 's', 'samp', 'section', 'small', 'span', 'strike', 'strong', 'style', 'sub', 'summary', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'time', 'tr', 'tt', 'u', 'ul', 'var', 'wbr',
]);

const ATTRIBUTES = new Set(['align', 'alt', 'bgcolor', 'border', 'cellpadding', 'cellspacing', 'class', 'color', 'cols', 'colspan', 'dir', 'face', 'headers', 'height', 'hspace', 'id', 'lang', 'nowrap', 'rowspan', 'scope', 'size', 'span', 'start', 'style', 'summary', 'title', 'type', 'valign', 'vspace', 'width', 'href', 'src', 'name', 'datetime', 'open']);

export interface SanitizeOptions {
  /** Content-ID (without <>) → data: URL of the message's own part. */
  cid: Map<string, string>;
  remoteImages: boolean;
}

export interface Sanitized {
  html: string;
  /** Images with an http(s) source, loaded only when remote images are allowed. */
  remoteImages: number;
  /** Elements and attributes taken out, for the user to see that something was. */
  removed: { elements: number; attributes: number };
}

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const remote = (url: string) => /^https?:/i.test(url);

/** Stylesheets may load images and fonts with url(): kept only as the CSP allows, and never @import. */
function cleanCss(css: string): string {
  return css.replace(/@import[^;]*;?/gi, '').replace(/expression\s*\(/gi, '(');
}

export function sanitizeHtml(source: string, opts: SanitizeOptions): Sanitized {
  const doc = new DOMParser().parseFromString(source, 'text/html');
  const out: Sanitized = { html: '', remoteImages: 0, removed: { elements: 0, attributes: 0 } };
  const walk = (parent: Element) => {
    for (const node of [...parent.childNodes]) {
      if (node.nodeType === Node.COMMENT_NODE || node.nodeType === Node.PROCESSING_INSTRUCTION_NODE) {
        node.remove();
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      const el = node as Element;
      const tag = el.localName.toLowerCase();
      if (DROP.has(tag) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') {
        el.remove();
        out.removed.elements++;
        continue;
      }
      if (!KEEP.has(tag)) {
        walk(el);
        el.replaceWith(...el.childNodes);
        out.removed.elements++;
        continue;
      }
      for (const attr of [...el.attributes]) {
        const name = attr.name.toLowerCase();
        const value = attr.value.trim();
        let keep = ATTRIBUTES.has(name);
        if (keep && name === 'href') keep = tag === 'a' && /^(https?:|mailto:|#)/i.test(value);
        if (keep && name === 'src') {
          keep = false;
          if (tag === 'img' && /^data:image\/(png|gif|jpeg|webp|bmp);/i.test(value)) keep = true;
          else if (tag === 'img' && /^cid:/i.test(value)) {
            const data = opts.cid.get(percentDecoded(value.slice(4)).replace(/^<|>$/g, ''));
            if (data) {
              el.setAttribute('src', data);
              continue;
            }
          } else if (tag === 'img' && remote(value)) {
            out.remoteImages++;
            keep = opts.remoteImages;
          }
        }
        if (keep && name === 'style') el.setAttribute('style', cleanCss(value));
        if (keep && name === 'name') keep = tag === 'a';
        if (!keep) {
          el.removeAttribute(attr.name);
          out.removed.attributes++;
        }
      }
      if (tag === 'a' && el.hasAttribute('href')) {
        el.setAttribute('target', '_blank');
        el.setAttribute('rel', 'noopener noreferrer');
      }
      if (tag === 'style') {
        el.textContent = cleanCss(el.textContent ?? '');
        continue;
      }
      walk(el);
    }
  };
  // The head's styles belong to the message's look; everything else in the head goes.
  const styles = [...doc.head.querySelectorAll('style')];
  walk(doc.body);
  out.html = [...styles.map((s) => `<style>${cleanCss(s.textContent ?? '')}</style>`), doc.body.innerHTML].join('\n');
  return out;
}

/** The iframe's document: a CSP that allows no load but data: images (and http(s) images when asked), inline styles. */
export function messageDocument(body: string, remoteImages: boolean): string {
  const csp = `default-src 'none'; img-src data:${remoteImages ? ' http: https:' : ''}; style-src 'unsafe-inline'; font-src data:; form-action 'none'; base-uri 'none'`;
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><style>body{margin:8px;font-family:sans-serif;background:#fff;color:#000}</style></head><body>${body}</body></html>`;
}
