/**
 * The YAML a YOLO `data.yaml` uses, and no more: top-level `key: value` pairs whose value is a
 * scalar (plain, 'single' or "double" quoted), a flow sequence / mapping (`[a, 'b c']`, `{0: a}`,
 * possibly over several lines), or a one-level block sequence (`- a`) / block mapping (`0: a`)
 * indented below the key. Comments, `---` and `...` are skipped. Anything else is reported with its
 * line and skipped; parsing goes on with the next top-level key. Pure TypeScript.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export interface YamlProblem {
  line: number;
  message: string;
}

export interface YamlDocument {
  /** Top-level keys in file order (a later duplicate is reported and ignored). */
  values: Map<string, YamlValue>;
  /** Line of each top-level key. */
  lines: Map<string, number>;
  problems: YamlProblem[];
}

class Fail {
  constructor(readonly message: string) {}
}

/** Removes a comment (`#` at the start or after whitespace, outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let k = 0; k < line.length; k++) {
    const c = line[k]!;
    if (quote) {
      if (c === '\\' && quote === '"') k++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (k === 0 || line[k - 1] === ' ' || line[k - 1] === '\t')) return line.slice(0, k);
  }
  return line;
}

/** Plain-scalar typing of YAML 1.2's core schema (the parts that matter here). */
function typePlain(s: string): YamlValue {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  return s;
}

/** Reads a quoted scalar starting at s[pos]; returns the value and the index after the closing quote. */
function readQuoted(s: string, pos: number): [string, number] {
  const q = s[pos]!;
  let out = '';
  let k = pos + 1;
  for (;;) {
    if (k >= s.length) throw new Fail(`unterminated ${q === '"' ? 'double' : 'single'}-quoted string`);
    const c = s[k]!;
    if (q === "'") {
      if (c === "'") {
        if (s[k + 1] === "'") {
          out += "'";
          k += 2;
          continue;
        }
        return [out, k + 1];
      }
      out += c;
      k++;
    } else {
      if (c === '"') return [out, k + 1];
      if (c === '\\') {
        const e = s[k + 1];
        const simple: Record<string, string> = {
          n: '\n',
          t: '\t',
          r: '\r',
          '"': '"',
          '\\': '\\',
          '/': '/',
          '0': '\0',
          ' ': ' ',
        };
        if (e !== undefined && e in simple) {
          out += simple[e];
          k += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(k + 2, k + 6))) {
          out += String.fromCharCode(parseInt(s.slice(k + 2, k + 6), 16));
          k += 6;
        } else throw new Fail(`unsupported escape \\${e ?? ''} in a double-quoted string`);
      } else {
        out += c;
        k++;
      }
    }
  }
}

/** A scalar that fills the rest of a block line. */
function blockScalar(raw: string): YamlValue {
  const s = raw.trim();
  if (s.startsWith('"') || s.startsWith("'")) {
    const [v, end] = readQuoted(s, 0);
    if (s.slice(end).trim() !== '')
      throw new Fail(`unexpected text after the quoted string: ${s.slice(end).trim()}`);
    return v;
  }
  if (s.startsWith('[') || s.startsWith('{')) return flow(s);
  if (/^[|>]/.test(s)) throw new Fail('block scalars (| or >) are not supported');
  if (/^[&*!]/.test(s)) throw new Fail('anchors, aliases and tags are not supported');
  return typePlain(s);
}

/** Parses a complete flow collection. */
function flow(s: string): YamlValue {
  let k = 0;
  const ws = () => {
    while (k < s.length && /\s/.test(s[k]!)) k++;
  };
  const scalar = (stops: string): YamlValue => {
    ws();
    if (s[k] === '"' || s[k] === "'") {
      const [v, end] = readQuoted(s, k);
      k = end;
      return v;
    }
    if (s[k] === '[' || s[k] === '{') return collection();
    const start = k;
    while (k < s.length && !stops.includes(s[k]!)) {
      // in a flow mapping ": " ends a key, but "a:b" does not
      if (s[k] === ':' && stops.includes(':') && (k + 1 >= s.length || /[\s,\]}]/.test(s[k + 1]!))) break;
      k++;
    }
    return typePlain(s.slice(start, k).trim());
  };
  const collection = (): YamlValue => {
    const open = s[k]!;
    const close = open === '[' ? ']' : '}';
    k++;
    const list: YamlValue[] = [];
    const map: { [key: string]: YamlValue } = {};
    for (;;) {
      ws();
      if (k >= s.length)
        throw new Fail(`unterminated flow ${open === '[' ? 'sequence' : 'mapping'}: missing '${close}'`);
      if (s[k] === close) {
        k++;
        return open === '[' ? list : map;
      }
      if (open === '[') list.push(scalar(',]'));
      else {
        const key = scalar(',}:');
        ws();
        if (s[k] !== ':')
          throw new Fail(`expected ':' after the key ${JSON.stringify(key)} in a flow mapping`);
        k++;
        const keyText = String(key);
        if (Object.hasOwn(map, keyText)) throw new Fail(`duplicate key ${keyText} in a flow mapping`);
        map[keyText] = scalar(',}');
      }
      ws();
      if (k >= s.length)
        throw new Fail(`unterminated flow ${open === '[' ? 'sequence' : 'mapping'}: missing '${close}'`);
      if (s[k] === ',') k++;
      else if (s[k] !== close)
        throw new Fail(
          `expected ',' or '${close}', found ${k < s.length ? JSON.stringify(s[k]) : 'end of value'}`,
        );
    }
  };
  ws();
  const v = collection();
  ws();
  if (k < s.length) throw new Fail(`unexpected text after the flow collection: ${s.slice(k)}`);
  return v;
}

function bracketDepth(s: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (quote) {
      if (c === '\\' && quote === '"') k++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth;
}

const KEY_LINE = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-[{][^:#]*?|-[^\s][^:#]*?)\s*:(?:\s+(.*)|\s*)$/;

function keyText(raw: string): string {
  if (raw.startsWith('"') || raw.startsWith("'")) return readQuoted(raw, 0)[0];
  return raw.trim();
}

export function parseYamlSubset(text: string): YamlDocument {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = src.split(/\r?\n/).map(stripComment);
  const doc: YamlDocument = { values: new Map(), lines: new Map(), problems: [] };
  const indentOf = (l: string) => l.length - l.trimStart().length;
  const blank = (l: string) => l.trim() === '' || /^(---|\.\.\.)(\s|$)/.test(l);
  let i = 0;
  while (i < lines.length) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (blank(line)) {
      i++;
      continue;
    }
    if (line.includes('\t') && /^\s*\t/.test(line)) {
      doc.problems.push({ line: lineNo, message: 'tabs are not allowed for indentation in YAML' });
      i++;
      continue;
    }
    if (indentOf(line) > 0) {
      doc.problems.push({ line: lineNo, message: `unexpected indentation: ${line.trim()}` });
      i++;
      continue;
    }
    const m = KEY_LINE.exec(line.trimEnd());
    if (!m) {
      doc.problems.push({
        line: lineNo,
        message: `expected "key: value", found ${JSON.stringify(line.trim())}`,
      });
      i++;
      continue;
    }
    let key: string;
    try {
      key = keyText(m[1]!);
    } catch (e) {
      doc.problems.push({ line: lineNo, message: (e as Fail).message });
      i++;
      continue;
    }
    const rest = (m[2] ?? '').trim();
    i++;
    let value: YamlValue;
    try {
      if (rest.startsWith('[') || rest.startsWith('{')) {
        // a flow collection may continue over the next lines until its brackets balance
        let textValue = rest;
        while (bracketDepth(textValue) > 0 && i < lines.length) textValue += '\n' + lines[i++]!;
        value = flow(textValue);
      } else if (rest !== '') {
        value = blockScalar(rest);
      } else {
        // block collection: indented lines, or "- " items at the key's own indentation
        const block: [number, string][] = [];
        while (
          i < lines.length &&
          (blank(lines[i]!) || indentOf(lines[i]!) > 0 || /^-(\s|$)/.test(lines[i]!))
        ) {
          if (!blank(lines[i]!)) block.push([i + 1, lines[i]!]);
          i++;
        }
        value = block.length === 0 ? null : blockCollection(block, doc.problems);
      }
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      doc.problems.push({ line: lineNo, message: `${key}: ${e.message}` });
      continue;
    }
    if (doc.values.has(key)) {
      doc.problems.push({
        line: lineNo,
        message: `duplicate key ${key} (first on line ${doc.lines.get(key)}): ignored`,
      });
      continue;
    }
    doc.values.set(key, value);
    doc.lines.set(key, lineNo);
  }
  return doc;
}

/** One-level block sequence or mapping; bad items are reported and skipped. */
function blockCollection(block: [number, string][], problems: YamlProblem[]): YamlValue {
  const indent = block[0]![1].length - block[0]![1].trimStart().length;
  const isSeq = /^-(\s|$)/.test(block[0]![1].trimStart());
  const list: YamlValue[] = [];
  const map: { [key: string]: YamlValue } = {};
  const mapLines = new Map<string, number>();
  for (const [lineNo, raw] of block) {
    const own = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (own !== indent) {
      problems.push({
        line: lineNo,
        message: `nested or misaligned item (indentation ${own}, expected ${indent}): ignored`,
      });
      continue;
    }
    try {
      if (isSeq) {
        if (!/^-(\s|$)/.test(body))
          throw new Fail(`expected "- item" in a sequence, found ${JSON.stringify(body)}`);
        list.push(blockScalar(body.slice(1)));
      } else {
        const m = KEY_LINE.exec(body);
        if (!m) throw new Fail(`expected "key: value" in a mapping, found ${JSON.stringify(body)}`);
        const key = keyText(m[1]!);
        if (Object.hasOwn(map, key)) {
          throw new Fail(`duplicate key ${key} (first on line ${mapLines.get(key)}): ignored`);
        }
        map[key] = blockScalar(m[2] ?? '');
        mapLines.set(key, lineNo);
      }
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      problems.push({ line: lineNo, message: e.message });
    }
  }
  return isSeq ? list : map;
}
