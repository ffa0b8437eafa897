/**
 * detectron2's WarmupMultiStepLR as a pure function of the step: a linear warm-up from
 * lr × warmupFactor to lr over `warmupSteps`, and a × gamma decay at each milestone passed —
 * the "1×" schedule (90k steps, milestones 60k and 80k, 1000 warm-up steps) when scaled to
 * a run's length by fractions.
 */
export interface StepDecaySchedule {
  baseLr: number;
  warmupSteps: number;
  warmupFactor: number;
  /** Steps at which the rate is multiplied by gamma (increasing). */
  milestones: number[];
  gamma: number;
}

export function stepDecayLr(step: number, s: StepDecaySchedule): number {
  let factor = 1;
  if (step < s.warmupSteps) {
    const alpha = step / s.warmupSteps;
    factor = s.warmupFactor * (1 - alpha) + alpha;
  }
  let passed = 0;
  for (const m of s.milestones) if (step >= m) passed++;
  return s.baseLr * factor * s.gamma ** passed;
}

/** The schedule of a run of `totalSteps`: warm-up and milestones as fractions of it. */
export function scaledSchedule(
  totalSteps: number,
  o: { lr: number; warmupFraction: number; warmupFactor: number; decayAt: number[]; gamma: number },
): StepDecaySchedule {
  return {
    baseLr: o.lr,
    warmupSteps: Math.round(o.warmupFraction * totalSteps),
    warmupFactor: o.warmupFactor,
    milestones: o.decayAt.map((f) => Math.round(f * totalSteps)),
    gamma: o.gamma,
  };
}
