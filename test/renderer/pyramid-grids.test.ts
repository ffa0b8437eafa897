import { describe, expect, it } from 'vitest';
import { pyramidGridChoices } from '../../src-renderer/lib/pyramid-grids';

const offered = (size: number | null, grids: number[]) =>
  pyramidGridChoices(size, grids)
    .choices.filter((c) => !c.disabled)
    .map((c) => c.value);

describe('the transport view’s pyramid levels', () => {
  it('offers each of the run’s grids that is a distinct level at its image size, and the full map', () => {
    // ⌈64/32⌉ = 2: every grid pools to the whole 2×2 map.
    expect(pyramidGridChoices(64, [7, 5, 3])).toMatchObject({ mapSide: 2, allowed: [0] });
    expect(offered(64, [7, 5, 3])).toEqual([0]);
    // 'same' padding rounds up: 80 px gives a 3×3 map, where the 3×3 grid is the map itself.
    expect(pyramidGridChoices(80, [7, 5, 3]).allowed).toEqual([3, 0]);
    expect(pyramidGridChoices(128, [7, 5, 3]).allowed).toEqual([3, 0]);
    expect(pyramidGridChoices(160, [7, 5, 3]).allowed).toEqual([5, 3, 0]);
    expect(pyramidGridChoices(224, [7, 5, 3])).toMatchObject({ mapSide: 7, allowed: [7, 5, 3, 0] });
  });

  it('uses the run’s own grids, largest first, not a fixed list', () => {
    const { choices, allowed } = pyramidGridChoices(256, [2, 4, 8]);
    expect(choices.map((c) => c.label)).toEqual(['full 8×8', '8×8', '4×4', '2×2']);
    expect(allowed).toEqual([8, 4, 2, 0]);
    expect(pyramidGridChoices(96, [6, 2]).allowed).toEqual([2, 0]);
  });

  it('says why a level is not offered, and offers only the unsized full map before the config is known', () => {
    const seven = pyramidGridChoices(128, [7, 5, 3]).choices.find((c) => c.value === 7)!;
    expect(seven).toMatchObject({ disabled: true });
    expect(seven.title).toBe('needs a dense map of at least 7×7: this run’s images give 4×4');
    const unknown = pyramidGridChoices(null, [7, 5, 3]);
    expect(unknown.mapSide).toBeNull();
    expect(unknown.choices[0]).toMatchObject({ value: 0, label: 'full map', disabled: false });
    expect(offered(null, [7, 5, 3])).toEqual([0]);
  });
});
