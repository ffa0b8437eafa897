/**
 * What the live pycocotools cross-checks share: the first interpreter that can import pycocotools
 * ($SELFEMD_PYTHON, /usr/bin/python3, python3 on PATH) with the one-line skip where none can, and the
 * digest the frozen references keep of COCOeval's precision and recall arrays.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { skipUnlessTool } from '../../optional-tool';

export function findPycocotools(tests: string): { python: string; skipReason: string } {
  const candidates = [
    process.env.SELFEMD_PYTHON,
    existsSync('/usr/bin/python3') ? '/usr/bin/python3' : undefined,
    'python3',
  ].filter((c): c is string => Boolean(c));
  const failures: string[] = [];
  let python = '';
  for (const c of candidates) {
    const probe = spawnSync(c, ['-c', 'import pycocotools.coco, pycocotools.cocoeval'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) {
      python = c;
      break;
    }
    failures.push(`${c}: ${(probe.error?.message ?? probe.stderr).trim().split('\n').pop()}`);
  }
  const skipReason = skipUnlessTool({
    tool: 'pycocotools',
    tests,
    missing: python ? null : failures.join('; '),
    install: 'python3 -m pip install pycocotools (or set SELFEMD_PYTHON)',
    ciCanInstall: false,
  });
  return { python, skipReason };
}

/** A digest that moves when any entry moves: [count, sum, index-weighted sum]. */
export function digest(values: ArrayLike<number>): [number, number, number] {
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    weighted += values[i]! * ((i % 97) + 1);
  }
  return [values.length, sum, weighted];
}
