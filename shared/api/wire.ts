/**
 * JSON for the HTTP/WebSocket transport. Plain JSON turns NaN and ±Infinity into null, but a diverged
 * loss is a legitimate metric value (the store keeps NaN), so non-finite numbers travel tagged as
 * `{"$num": "NaN"}` and come back as numbers: the browser sees what Electron's structured clone gives.
 */

const TAG = '$num';

export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? { [TAG]: String(v) } : v,
  );
}

export function decodeWire(text: string): unknown {
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
