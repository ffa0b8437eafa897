/**
 * Short engine tasks the studio runs outside the UI process (each in its own worker process, like
 * training): the transport plan between two crops (the paper's Fig. 5), and exporting a run's backbone.
 */

export interface TransportRequest {
  runId: string;
  /** Checkpoint step; the run's last checkpoint when omitted. */
  step?: number;
  /** An image file; or, for demo runs, the index of a demo scene. */
  image: { path: string } | { demoIndex: number };
  /** Crop 2 from another image; both crops come from `image` when omitted. */
  image2?: { path: string } | { demoIndex: number };
  /** Seeds the two random crops ("re-roll" = another seed). */
  seed: number;
  /** Pyramid grid of both maps (e.g. 7, 5, 3); the full dense map when omitted. */
  grid?: number;
}

export interface TransportResult {
  /** The two crops as PNG data URLs, each at the run's image size. */
  crops: [string, string];
  /** Crop boxes in the source image, normalised [y1, x1, y2, x2]. */
  boxes: [number[], number[]];
  /** Grid of crop 1 (rows) and crop 2 (cols). */
  grid1: [number, number];
  grid2: [number, number];
  /** Row-major plan π [n1 × n2], n = h·w; rows: positions of crop 1, cols: positions of crop 2. */
  plan: number[];
  /** Cost 1 − cos per pair, same layout. */
  cost: number[];
  /** S = ⟨π, 1 − M⟩ and the EMD loss 2 − 2S. */
  similarity: number;
  loss: number;
  checkpointStep: number;
}

export interface ExportRequest {
  runId: string;
  step?: number;
  format: 'tfjs' | 'safetensors';
  /** A folder for tfjs, a file for safetensors. */
  outPath: string;
}

export interface ExportResult {
  path: string;
  bytes: number;
  format: 'tfjs' | 'safetensors';
  checkpointStep: number;
  /** safetensors: how it loads in PyTorch (which torchvision constructor, or that none builds it). */
  pytorchNote?: string;
}
