/**
 * A small, strict XML parser for the subset annotation files use (Pascal VOC, LabelImg, CVAT
 * exports): one root element, nested elements with attributes, text, comments, CDATA, processing
 * instructions and a DOCTYPE without internal subset (both skipped), the five predefined entities and
 * numeric character references. No namespaces processing, no DTD. Every element records the line it
 * starts on; errors carry the line and column of the offending character. Pure TypeScript.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element (entities decoded, not trimmed). */
  text: string;
  /** 1-based line of the element's '<'. */
  line: number;
}

export interface XmlError {
  line: number;
  column: number;
  message: string;
}

export type XmlParseResult = { ok: true; root: XmlElement } | { ok: false; error: XmlError };

const NAME_START = /[A-Za-z_:\u00C0-\uFFFF]/;
const NAME_CHAR = /[A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

class Fail {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

export function parseXml(source: string): XmlParseResult {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const n = text.length;
  let i = 0;
  // line starts, to turn offsets into line/column without rescanning
  const lineStarts = [0];
  for (let k = 0; k < n; k++) if (text.charCodeAt(k) === 10) lineStarts.push(k + 1);
  const lineOf = (off: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (lineStarts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const fail = (message: string, at = i): never => {
    throw new Fail(at, message);
  };
  const found = (at = i) => (at >= n ? 'end of file' : JSON.stringify(text[at]));
  const isWs = (c: string | undefined) => c === ' ' || c === '\n' || c === '\r' || c === '\t';
  const skipWs = () => {
    while (i < n && isWs(text[i])) i++;
  };
  const name = (): string => {
    const start = i;
    if (i >= n || !NAME_START.test(text[i]!)) fail(`expected a name, found ${found()}`);
    i++;
    while (i < n && NAME_CHAR.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  const decode = (raw: string, base: number): string =>
    raw.replace(/&([^;&<\s]*);?/g, (m, body: string, off: number) => {
      if (!m.endsWith(';'))
        fail(`'&' must start an entity like &amp; (found ${JSON.stringify(m.slice(0, 12))})`, base + off);
      if (body.startsWith('#x') || body.startsWith('#X')) {
        const cp = /^[0-9a-fA-F]+$/.test(body.slice(2)) ? parseInt(body.slice(2), 16) : NaN;
        if (!(cp <= 0x10ffff)) fail(`invalid character reference &${body};`, base + off);
        return String.fromCodePoint(cp);
      }
      if (body.startsWith('#')) {
        const cp = /^[0-9]+$/.test(body.slice(1)) ? parseInt(body.slice(1), 10) : NaN;
        if (!(cp <= 0x10ffff)) fail(`invalid character reference &${body};`, base + off);
        return String.fromCodePoint(cp);
      }
      const e = ENTITIES[body];
      if (e === undefined) fail(`unknown entity &${body};`, base + off);
      return e!;
    });
  const skipUntil = (end: string, what: string) => {
    const start = i;
    const k = text.indexOf(end, i);
    if (k < 0) fail(`unterminated ${what}`, start);
    i = k + end.length;
  };
  /** Skips comments, PIs, DOCTYPE and whitespace between top-level items. */
  const misc = (allowDoctype: boolean) => {
    for (;;) {
      skipWs();
      if (text.startsWith('<!--', i)) skipUntil('-->', 'comment');
      else if (text.startsWith('<?', i)) skipUntil('?>', 'processing instruction');
      else if (allowDoctype && text.startsWith('<!DOCTYPE', i)) {
        if (text.indexOf('[', i) >= 0 && text.indexOf('[', i) < text.indexOf('>', i)) {
          fail('DOCTYPE with an internal subset is not supported');
        }
        skipUntil('>', 'DOCTYPE');
      } else return;
    }
  };

  const element = (): XmlElement => {
    const open = i;
    i++; // '<'
    const el: XmlElement = {
      name: name(),
      attributes: Object.create(null) as Record<string, string>,
      children: [],
      text: '',
      line: lineOf(open),
    };
    for (;;) {
      const hadWs = isWs(text[i]);
      skipWs();
      if (text[i] === '/') {
        if (text[i + 1] !== '>') fail(`expected '>' after '/' in <${el.name}>, found ${found(i + 1)}`, i + 1);
        i += 2;
        return el;
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      if (i >= n) fail(`unterminated start tag <${el.name}> (opened on line ${el.line})`);
      if (!hadWs) fail(`expected whitespace, '>' or '/>' in <${el.name}>, found ${found()}`);
      const attrAt = i;
      const attr = name();
      skipWs();
      if (text[i] !== '=') fail(`expected '=' after attribute ${attr}, found ${found()}`);
      i++;
      skipWs();
      const q = text[i];
      if (q !== '"' && q !== "'") fail(`attribute ${attr} value must be quoted, found ${found()}`);
      const end = text.indexOf(q!, i + 1);
      if (end < 0) fail(`unterminated value of attribute ${attr}`);
      const raw = text.slice(i + 1, end);
      if (raw.includes('<')) fail(`'<' inside the value of attribute ${attr}`, i + 1 + raw.indexOf('<'));
      if (Object.hasOwn(el.attributes, attr)) fail(`duplicate attribute ${attr} in <${el.name}>`, attrAt);
      el.attributes[attr] = decode(raw, i + 1);
      i = end + 1;
    }
    // content
    for (;;) {
      if (i >= n) fail(`element <${el.name}> opened on line ${el.line} is never closed`);
      if (text.startsWith('</', i)) {
        const closeAt = i;
        i += 2;
        const closing = name();
        skipWs();
        if (text[i] !== '>') fail(`expected '>' to end </${closing}>, found ${found()}`);
        i++;
        if (closing !== el.name) {
          fail(`closing tag </${closing}> does not match <${el.name}> opened on line ${el.line}`, closeAt);
        }
        return el;
      }
      if (text.startsWith('<!--', i)) skipUntil('-->', 'comment');
      else if (text.startsWith('<![CDATA[', i)) {
        const start = i + 9;
        skipUntil(']]>', 'CDATA section');
        el.text += text.slice(start, i - 3);
      } else if (text.startsWith('<?', i)) skipUntil('?>', 'processing instruction');
      else if (text[i] === '<') el.children.push(element());
      else {
        const start = i;
        const k = text.indexOf('<', i);
        i = k < 0 ? n : k;
        el.text += decode(text.slice(start, i), start);
      }
    }
  };

  try {
    misc(true);
    if (i >= n) fail('no root element');
    if (text[i] !== '<') fail(`expected '<' to start the root element, found ${found()}`);
    const root = element();
    misc(false);
    if (i < n) fail(`content after the root element </${root.name}>: ${found()}`);
    return { ok: true, root };
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    const line = lineOf(e.offset);
    return { ok: false, error: { line, column: e.offset - lineStarts[line - 1]! + 1, message: e.message } };
  }
}

export function xmlChild(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function xmlChildren(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Trimmed text of the first child called `name`, or undefined when there is none. */
export function xmlChildText(el: XmlElement, name: string): string | undefined {
  const c = xmlChild(el, name);
  return c === undefined ? undefined : c.text.trim();
}
