import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError, parseJsonLocated } from '../../../src-main/engine/data/importers/json-syntax';

describe('JSON syntax errors with positions', () => {
  it('accepts what JSON.parse accepts (and a BOM)', () => {
    for (const ok of ['{}', '[]', '[1,-0.5e+3,"a\\u00e9\\n",true,false,null,{"k":[{}]}]', ' \n 0 ']) {
      expect(findJsonSyntaxError(ok)).toBeNull();
      expect(parseJsonLocated(ok).ok).toBe(true);
    }
    const bom = parseJsonLocated('\ufeff{"a":1}');
    expect(bom.ok && (bom.value as { a: number }).a).toBe(1);
  });

  const cases: [string, number, number, number, RegExp][] = [
    ['{\n  "a": 1,\n  "b": 2\n  "c": 3\n}', 4, 3, 23, /expected ',' or '}'/],
    ['[1, 2,]', 1, 7, 6, /expected a value/],
    ['{"a": tru}', 1, 10, 9, /expected "true"/],
    ['{"images": [\n{"id": 01}]}', 2, 9, 21, /unexpected content|expected ',' or '}'/],
    ['{"a": "line\nbreak"}', 1, 12, 11, /control character/],
    ['{"a": 1', 1, 8, 7, /end of input/],
    ["{'a': 1}", 1, 2, 1, /property name in double quotes/],
    ['{"a": "\\x"}', 1, 9, 8, /invalid escape/],
  ];
  for (const [text, line, column, offset, message] of cases) {
    it(`locates the error in ${JSON.stringify(text).slice(0, 40)}`, () => {
      expect(() => JSON.parse(text)).toThrow();
      const r = parseJsonLocated(text);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.message).toMatch(message);
      expect([r.error.line, r.error.column, r.error.offset]).toEqual([line, column, offset]);
    });
  }
});
