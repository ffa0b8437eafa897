import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire } from '../../shared/api/wire';

/** The tagging encoder, applied to every value (what encodeWire did for every message before). */
const tagged = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'number' && !Number.isFinite(x) ? { $num: String(x) } : x,
  );

describe('wire', () => {
  const values: unknown[] = [
    { ok: true, value: [{ step: 1, value: 0.5, wallTime: 1e12 }] },
    {
      ok: true,
      value: [
        { step: 1, value: NaN },
        { step: 2, value: -Infinity },
      ],
    },
    [1, [2, [3, [Infinity]]]],
    { when: new Date(0), n: 3, s: 'a "$num" in text', nested: { deep: [null, true, 'x'] } },
    { withToJSON: { toJSON: () => ({ v: NaN }) } },
    'plain',
    42,
    null,
  ];

  it('encodes every value as the tagging encoder does, with or without non-finite numbers', () => {
    for (const v of values) expect(encodeWire(v)).toBe(tagged(v));
  });

  it('round-trips NaN and ±Infinity, and revives a tag however the text spells it', () => {
    for (const v of values.slice(0, 3)) expect(decodeWire(encodeWire(v))).toEqual(v);
    expect(decodeWire('{"v":{"\\u0024num":"NaN"}}')).toEqual({ v: NaN });
    expect(decodeWire('{"v":{"$num":"Infinity"},"s":"$num"}')).toEqual({ v: Infinity, s: '$num' });
    expect(decodeWire('{"a":[1,2,{"b":"c"}]}')).toEqual({ a: [1, 2, { b: 'c' }] });
  });
});
