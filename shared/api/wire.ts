/**
 * JSON for the HTTP/WebSocket transport. Plain JSON turns NaN and ±Infinity into null, but a diverged
 * loss is a legitimate metric value (the store keeps NaN), so non-finite numbers travel tagged as
 * `{"$num": "NaN"}` and come back as numbers: the browser sees what Electron's structured clone gives.
 */

const TAG = '$num';

/**
 * Whether `value` may hold a number JSON cannot carry. A replacer or reviver runs a function for every
 * value, which doubled the time of a chart's answer (4 000 points × 6 keys × 3 numbers: 1.3 MB), so
 * without such a number the plain JSON functions do the work. Conservative: an object with toJSON, or
 * nesting deeper than JSON.stringify would manage, answers true and takes the tagging path.
 */
function mayHoldNonFinite(v: unknown, depth = 0): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (typeof v !== 'object' || v === null) return false;
  if (depth > 200 || typeof (v as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(v)) {
    for (const x of v) if (mayHoldNonFinite(x, depth + 1)) return true;
    return false;
  }
  for (const k in v) if (mayHoldNonFinite((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

export function encodeWire(value: unknown): string {
  if (!mayHoldNonFinite(value)) return JSON.stringify(value);
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? { [TAG]: String(v) } : v,
  );
}

export function decodeWire(text: string): unknown {
  // No tag in the text (nor an escape that could spell one): nothing to revive.
  if (!text.includes(TAG) && !text.includes('\\u')) return JSON.parse(text);
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === TAG) {
        const s = (v as Record<string, unknown>)[TAG];
        if (s === 'NaN' || s === 'Infinity' || s === '-Infinity') return Number(s);
      }
    }
    return v;
  });
}
