import { describe, expect, it } from 'vitest';
import { droppedDatasetName } from '../../src-renderer/lib/dropped-name';

describe('the name of a dropped dataset', () => {
  it('is the dropped folder or file, or the first loose file with how many more', () => {
    expect(droppedDatasetName(['VOC2012'])).toBe('VOC2012');
    expect(droppedDatasetName(['instances_val.json'])).toBe('instances_val');
    expect(droppedDatasetName(['a.png', 'b.png', 'c.png'])).toBe('a.png + 2 more');
    expect(droppedDatasetName([])).toBe('dropped files');
  });
});
