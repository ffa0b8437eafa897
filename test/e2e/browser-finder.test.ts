/**
 * `npm test` on a machine without Chromium: the e2e files find a browser in the usual places, and
 * where there is none they skip with one line saying what to install — except under CI=true.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { skipUnlessTool } from '../optional-tool';
import { findBrowser } from './harness';
import { tempDir } from '../temp-dir';

const tmp = tempDir('selfemd-browser-finder-');
afterEach(() => vi.unstubAllEnvs());

function fakeExecutable(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

const emptyCache = path.join(tmp, 'empty-cache');
mkdirSync(emptyCache);

describe('findBrowser', () => {
  it('finds chromium-browser or google-chrome on PATH', () => {
    const bin = path.join(tmp, 'bin');
    const chrome = fakeExecutable(path.join(bin, 'google-chrome'));
    expect(findBrowser({ PATH: bin, PLAYWRIGHT_BROWSERS_PATH: emptyCache })).toEqual({ path: chrome });
    const cb = fakeExecutable(path.join(bin, 'chromium-browser'));
    // chromium-browser is preferred over google-chrome
    expect(findBrowser({ PATH: bin, PLAYWRIGHT_BROWSERS_PATH: emptyCache })).toEqual({ path: cb });
  });

  it("falls back to Playwright's cache, newest build first", () => {
    const cache = path.join(tmp, 'pw-cache');
    fakeExecutable(path.join(cache, 'chromium-900', 'chrome-linux', 'chrome'));
    const newest = fakeExecutable(path.join(cache, 'chromium-1255', 'chrome-linux64', 'chrome'));
    expect(findBrowser({ PATH: path.join(tmp, 'nothing'), PLAYWRIGHT_BROWSERS_PATH: cache })).toEqual({
      path: newest,
    });
  });

  it('says where it looked when there is none; a wrong CHROMIUM_PATH is not silently replaced', () => {
    const none = findBrowser({ PATH: path.join(tmp, 'nothing'), PLAYWRIGHT_BROWSERS_PATH: emptyCache });
    expect(none).toEqual({ missing: expect.stringMatching(/CHROMIUM_PATH.*chromium-browser.*Playwright/) });
    const bin = path.join(tmp, 'bin2');
    fakeExecutable(path.join(bin, 'chromium'));
    expect(findBrowser({ CHROMIUM_PATH: '/nonexistent/chrome', PATH: bin })).toEqual({
      missing: 'CHROMIUM_PATH=/nonexistent/chrome is not an executable file',
    });
  });
});

describe('skipUnlessTool', () => {
  const check = {
    tool: 'a Chromium browser',
    tests: 'browser end-to-end tests',
    missing: 'not on PATH',
    install: 'apt-get install chromium',
  };

  it('prints one line naming what to install and returns the skip reason', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const reason = skipUnlessTool(check);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toBe(reason);
    expect(reason).toContain('install it with: apt-get install chromium');
    expect(reason.includes('\n')).toBe(false);
    warn.mockRestore();
    expect(skipUnlessTool({ ...check, missing: null })).toBe('');
  });

  it('fails under CI=true, unless CI cannot install the tool either', () => {
    vi.stubEnv('CI', 'true');
    expect(() => skipUnlessTool(check)).toThrow(/CI=true and a Chromium browser is missing/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(skipUnlessTool({ ...check, ciCanInstall: false })).toContain('skipped');
    warn.mockRestore();
  });
});
