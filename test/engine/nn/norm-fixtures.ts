/**
 * Inputs and the comparison the normalisation tests (batch-norm, group-norm) share: maps whose
 * channels sit far from zero with different spreads (a one-pass E[x²] − μ² would lose digits),
 * loss weights, γ and β; and the largest difference relative to the largest reference value.
 */
import { expect } from 'vitest';

export function normTestData(shape: number[], offset: number) {
  const n = shape.reduce((a, b) => a * b);
  const c = shape[shape.length - 1]!;
  const x = Float32Array.from(
    { length: n },
    (_, i) => 20 * ((i % c) - 2) + Math.sin(i * 0.77 + offset) * (1 + (i % c)),
  );
  const w = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.29 + offset));
  const gamma = Float32Array.from({ length: c }, (_, i) => 0.5 + 0.3 * i * (i % 2 ? -1 : 1));
  const beta = Float32Array.from({ length: c }, (_, i) => 0.1 * i - 0.2);
  return { x, w, gamma, beta, c };
}

export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

/** A normalisation's output, the loss Σ y²·w and its gradients. */
export interface NormResult {
  y: Float32Array;
  loss: number;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
}

/** Output and loss within `tol` of the reference, gradients within 10 × `tol`. */
export function expectNormClose(got: NormResult, want: NormResult, tol: number): void {
  expect(relErr(got.y, want.y)).toBeLessThan(tol);
  expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThan(tol);
  expect(relErr(got.dx, want.dx)).toBeLessThan(tol * 10);
  expect(relErr(got.dGamma, want.dGamma)).toBeLessThan(tol * 10);
  expect(relErr(got.dBeta, want.dBeta)).toBeLessThan(tol * 10);
}
