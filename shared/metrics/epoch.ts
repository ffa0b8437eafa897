/**
 * Which epoch a step is in, counted one way everywhere: the training loop stores it with each
 * checkpoint and reports it with its progress, and the studio shows it while a run trains, so the
 * running epoch and the checkpoint table's agree for the same step.
 *
 * `step` is the number of optimizer steps done; the epoch is the number of whole epochs they
 * complete (step 0 … stepsPerEpoch − 1 → 0, stepsPerEpoch → 1).
 */
export function epochOfStep(step: number, stepsPerEpoch: number): number {
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1)
    throw new Error(`epochOfStep: stepsPerEpoch must be a whole number ≥ 1 (got ${stepsPerEpoch})`);
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`epochOfStep: step must be a whole number ≥ 0 (got ${step})`);
  return Math.floor(step / stepsPerEpoch);
}

/** Epochs a run of `totalSteps` spans (the last may be partial). */
export function epochsOfRun(totalSteps: number, stepsPerEpoch: number): number {
  return Math.ceil(totalSteps / Math.max(1, stepsPerEpoch));
}
