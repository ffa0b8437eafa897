/**
 * Learning-rate and EMA schedules, as pure functions of the optimizer step so that a resumed run
 * recomputes exactly the values the uninterrupted run would have used.
 */

/** Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to 0 at `totalSteps` (paper §4.1). */
export function warmupCosineLr(step: number, peak: number, warmupSteps: number, totalSteps: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / span));
  return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
}

/** BYOL's target momentum: τ = 1 − (1 − τ_base)(cos(πk/K) + 1)/2, rising from τ_base to 1. */
export function byolTau(step: number, totalSteps: number, tauBase: number): number {
  const k = Math.min(step, totalSteps);
  return 1 - ((1 - tauBase) * (Math.cos((Math.PI * k) / Math.max(1, totalSteps)) + 1)) / 2;
}
