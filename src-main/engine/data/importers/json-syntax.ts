/**
 * JSON.parse with errors that say where: on a syntax error a small RFC 8259 scanner (no values
 * built) finds the first offending character and reports its offset, line and column. The scanner
 * only runs after JSON.parse failed, so large valid files pay nothing. Pure TypeScript.
 */

export interface JsonSyntaxError {
  /** 0-based UTF-16 offset of the offending character. */
  offset: number;
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

export type JsonParseResult =
  | {
      ok: true;
      value: unknown;
      /** How many NaN / Infinity / -Infinity tokens were read as the strings "NaN", … (option nonFinite). */
      nonFinite: number;
    }
  | { ok: false; error: JsonSyntaxError };

const NON_FINITE = ['-Infinity', 'Infinity', 'NaN'] as const;

/**
 * Python's json.dump writes NaN, Infinity and -Infinity by default (not JSON). Outside strings, each
 * such token becomes the string of its name, so the file parses and the value it stood in for is
 * reported where it is used (a box that is not four numbers) instead of the whole file failing.
 */
export function quoteNonFiniteTokens(text: string): { text: string; count: number } {
  let out = '';
  let count = 0;
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== 'N' && c !== 'I' && c !== '-') continue;
    const word = NON_FINITE.find((w) => text.startsWith(w, i));
    if (!word || /[A-Za-z0-9_]/.test(text[i + word.length] ?? '')) continue;
    out += `${text.slice(from, i)}"${word}"`;
    count++;
    i += word.length - 1;
    from = i + 1;
  }
  return { text: count ? out + text.slice(from) : text, count };
}

export function parseJsonLocated(text: string, options: { nonFinite?: boolean } = {}): JsonParseResult {
  // A UTF-8 byte-order mark is common in files written on Windows; JSON.parse refuses it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body), nonFinite: 0 };
  } catch (err) {
    if (options.nonFinite) {
      const quoted = quoteNonFiniteTokens(body);
      if (quoted.count > 0) {
        try {
          return { ok: true, value: JSON.parse(quoted.text), nonFinite: quoted.count };
        } catch {
          // a syntax error besides them: located in the file as it is, below
        }
      }
    }
    const found = findJsonSyntaxError(body);
    if (found) {
      const shift = body === text ? 0 : 1;
      return { ok: false, error: { ...found, offset: found.offset + shift } };
    }
    // The scanner accepted it: report JSON.parse's own message at the start.
    return { ok: false, error: { offset: 0, line: 1, column: 1, message: (err as Error).message } };
  }
}

export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Fail {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** The first syntax error of `text`, or null when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const n = text.length;
  const describe = (at: number) => (at >= n ? 'end of input' : `character ${JSON.stringify(text[at])}`);
  const fail = (what: string, at = i): never => {
    throw new Fail(at, `${what}, found ${describe(at)}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const digits = () => {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    return i - start;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character inside a string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape', i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape', i + 1);
      } else i++;
    }
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (digits() === 0) fail('expected a digit');
    if (text[i] === '.') {
      i++;
      if (digits() === 0) fail('expected a digit after the decimal point');
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (digits() === 0) fail('expected a digit in the exponent');
    }
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) fail(`expected "${word}"`, i + k);
    i += word.length;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail("expected ':' after a property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("expected ',' or '}' after a property value");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("expected ',' or ']' after an array element");
      }
    } else if (c === '"') string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else fail('expected a value');
  };
  try {
    value(0);
    ws();
    if (i < n) fail('unexpected content after the JSON value');
    return null;
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    return { offset: e.offset, ...lineColumnAt(text, e.offset), message: e.message };
  }
}
