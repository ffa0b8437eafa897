import { describe, expect, it } from 'vitest';
import { parseYamlSubset } from '../../../src-main/engine/data/importers/yaml-subset';

describe('parseYamlSubset (data.yaml)', () => {
  it('reads flow lists with quotes and comments', () => {
    const doc = parseYamlSubset(`# dataset
path: ../datasets/pets  # root
train: images/train
val: images/val
nc: 3
names: ['cat', "dog, big", bird]  # three
`);
    expect(doc.problems).toEqual([]);
    expect(doc.values.get('names')).toEqual(['cat', 'dog, big', 'bird']);
    expect(doc.values.get('nc')).toBe(3);
    expect(doc.values.get('train')).toBe('images/train');
    expect(doc.lines.get('names')).toBe(6);
  });

  it('reads block sequences (indented or not), block mappings and multi-line flow lists', () => {
    expect(parseYamlSubset('names:\n  - cat\n  - "dog"\n').values.get('names')).toEqual(['cat', 'dog']);
    expect(parseYamlSubset('names:\n- cat\n- dog\nnc: 2\n').values.get('names')).toEqual(['cat', 'dog']);
    expect(
      parseYamlSubset('names:\n  0: person\n  1: bicycle\n  2: traffic light\n').values.get('names'),
    ).toEqual({
      0: 'person',
      1: 'bicycle',
      2: 'traffic light',
    });
    expect(parseYamlSubset("names: {0: a, 1: 'b c'}").values.get('names')).toEqual({ 0: 'a', 1: 'b c' });
    expect(parseYamlSubset('names: [\n  a,\n  b\n]\nnc: 2').values.get('names')).toEqual(['a', 'b']);
    expect(parseYamlSubset("names: ['it''s', \"tab\\there\"]").values.get('names')).toEqual([
      "it's",
      'tab\there',
    ]);
  });

  it('reports what it cannot read with its line, and keeps the rest', () => {
    // an unbalanced flow list swallows the following lines and fails at the end of the file
    const doc = parseYamlSubset('names: [a, b\nnc: 2\n');
    expect(doc.problems).toEqual([{ line: 1, message: "names: unterminated flow sequence: missing ']'" }]);
    expect(doc.values.has('names')).toBe(false);
    const doc2 = parseYamlSubset(
      'nc: 2\n   stray: indented\nthis line has no colon\nnames:\n  0: x\n  0: y\nnames: [z]\nblock: |\n',
    );
    expect(doc2.problems).toEqual([
      { line: 2, message: 'unexpected indentation: stray: indented' },
      { line: 3, message: 'expected "key: value", found "this line has no colon"' },
      { line: 6, message: 'duplicate key 0 (first on line 5): ignored' },
      { line: 7, message: 'duplicate key names (first on line 4): ignored' },
      { line: 8, message: 'block: block scalars (| or >) are not supported' },
    ]);
    expect(doc2.values.get('names')).toEqual({ 0: 'x' });
    expect(doc2.values.get('nc')).toBe(2);
  });
});
