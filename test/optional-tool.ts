/**
 * The one rule for tests that need something npm does not install (a browser, PyTorch, pycocotools):
 * where it is missing, the test skips with ONE line saying what to install, so `npm test` passes on
 * a fresh machine; under CI=true (where .ci/run installs it) a missing tool fails the run instead,
 * so CI can never go green by skipping. A tool CI has no way to install says so with `ciCanInstall: false`.
 */

export interface ToolCheck {
  /** What the tests need, e.g. "chromium" or "PyTorch (torch + torchvision)". */
  tool: string;
  /** Which tests skip without it. */
  tests: string;
  /** Null when the tool was found, else why not (where we looked). */
  missing: string | null;
  /** The command that installs it. */
  install: string;
  /** False when CI cannot install the tool either (then it skips there too, saying so). */
  ciCanInstall?: boolean;
}

export const underCi = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** '' when the tool is there; otherwise the skip reason (already printed as one line). Throws under CI. */
export function skipUnlessTool(check: ToolCheck): string {
  if (check.missing === null) return '';
  const line = `${check.tests} skipped: ${check.tool} not found (${check.missing}); install it with: ${check.install}`;
  if (underCi() && check.ciCanInstall !== false)
    throw new Error(
      `CI=true and ${check.tool} is missing (${check.missing}): .ci/run must install it (${check.install})`,
    );
  console.warn(line);
  return line;
}
