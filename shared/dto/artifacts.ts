import type { JsonObject } from './json';

/** Files a run produced besides checkpoints. Times: epoch ms. */
export const ARTIFACT_KINDS = [
  'export-tfjs',
  'export-safetensors',
  'transport',
  'predictions',
  'report',
  'log',
] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface ArtifactRecord {
  id: number;
  runId: string;
  kind: ArtifactKind;
  path: string;
  meta: JsonObject;
  createdAt: number;
}

export interface NewArtifact {
  runId: string;
  kind: ArtifactKind;
  path: string;
  /** Plain JSON data, checked when stored. */
  meta?: object;
}
