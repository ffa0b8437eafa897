/**
 * The labelled boxes of one image of a dataset, for the image viewer: the demo scenes' generated
 * ground truth, or what the import kept (boxes.json, with the boxes it clipped marked). Null when the
 * dataset has none kept (an image folder, or an import older than the viewer).
 */
import { readDatasetBoxes, type DatasetBoxes, type DatasetIndex } from './dataset-index';
import { demoScene } from './demo-datasets';

export function imageBoxes(
  home: string,
  datasetId: number,
  index: DatasetIndex,
  k: number,
): DatasetBoxes['images'][number] | null {
  if (index.demo) {
    if (k < 0 || k >= index.demo.count) return null;
    return demoScene(index.demo.stream, k, index.demo.seed).annotations.map((a) => [
      a.bbox[0],
      a.bbox[1],
      a.bbox[2],
      a.bbox[3],
      a.category,
      0,
    ]);
  }
  return readDatasetBoxes(home, datasetId)?.images[k] ?? null;
}
