/**
 * The name a drag-and-drop import gets (the upload folder's own name, drop-…, says nothing): the
 * dropped folder's or annotation file's name, or for loose files the first one's with how many
 * more came with it.
 */
export function droppedDatasetName(names: readonly string[]): string {
  const [first] = names;
  if (first === undefined) return 'dropped files';
  const base = first.replace(/\.json$/i, '');
  if (names.length === 1) return base;
  return `${base} + ${names.length - 1} more`;
}
