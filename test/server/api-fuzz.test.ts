/**
 * Hostile API input (bench/faults/api-fuzz.ts; `npm run faults` runs more rounds): every method of
 * the typed API, called as both transports call it, with seeded hostile arguments — wrong types,
 * huge numbers, NaN, long strings, traversal, NUL bytes, symlinks to system folders, a FIFO, cycles
 * and BigInts. Every answer is an envelope; refusals have a known code (never `internal`), a short
 * message, the field named when invalid; a refused call changes no store row; nothing is written
 * outside the home and the chosen folder; no call holds the event loop.
 */
import { describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../shared/api/methods';
import { runApiFuzz } from '../../bench/faults/api-fuzz';

describe('hostile API input', () => {
  it('every method answers generated hostile arguments with a typed refusal or a result, and nothing leaks', async () => {
    const r = await runApiFuzz({ calls: 12, seed: 7 });
    expect(r.calls).toBe(12 * METHOD_NAMES.length);
    expect(r.findings).toEqual([]);
    expect(r.writtenOutside).toEqual([]);
    expect(r.refused.internal).toBeUndefined();
    // The generator reaches the handlers, not only the argument check.
    expect(r.accepted).toBeGreaterThan(20);
    expect(
      (r.refused['not-found'] ?? 0) + (r.refused.failed ?? 0) + (r.refused.conflict ?? 0),
    ).toBeGreaterThan(5);
  }, 120_000);
});
