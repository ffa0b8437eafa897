/**
 * Two supervisors on one SELFEMD_HOME, with real processes (bench/faults/two-supervisors.ts): a CLI
 * pretraining, a second CLI and a browser-mode studio asking to resume, pause, cancel and delete its
 * run, a killed supervisor whose training process still lives, and two resumes racing for the stale
 * claim. Every refusal names the holder; one racer trains; no metric is lost or doubled.
 */
import { describe, expect, it } from 'vitest';
import { runTwoSupervisors } from '../../bench/faults/two-supervisors';

describe('two supervisors, one home', () => {
  it('coordinate through run claims: refusals name the holder, a stale claim is taken over once', async () => {
    // 32 steps: the first supervisor must still be training when the second and the studio ask.
    const r = await runTwoSupervisors({ epochs: 16 });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks.length).toBe(13);
  }, 180_000);
});
