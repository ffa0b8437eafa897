/**
 * The labelled boxes of one image of a dataset, for the image viewer: the demo scenes' generated
 * ground truth, or what the import kept (boxes.json, with the boxes it clipped marked). Null when the
 * dataset has none kept (an image folder, or an import older than the viewer).
 */
import { readDatasetBoxes, type DatasetBoxes, type DatasetIndex } from './dataset-index';
import { demoScenes } from './demo-datasets';

export function imageBoxes(
  home: string,
  datasetId: number,
  index: DatasetIndex,
  k: number,
): DatasetBoxes['images'][number] | null {
  if (index.demo) {
    const { coco } = demoScenes(index.demo.stream, index.demo.count, index.demo.seed);
    const imageId = coco.images[k]?.id;
    return coco.annotations
      .filter((a) => a.image_id === imageId)
      .map((a) => [a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3], a.category_id, 0]);
  }
  return readDatasetBoxes(home, datasetId)?.images[k] ?? null;
}
