/**
 * `selfemd probe` and the pretraining probe flags: the command prints the probe's accuracies as JSON
 * for a random-init backbone on demo splits (resolved as `selfemd finetune` would resolve them), and
 * bad arguments get one-line errors naming the flag.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src-main/cli/cli-error';
import { pretrainOverrides } from '../../src-main/cli/commands/pretrain';
import { resolveProbeConfig } from '../../src-main/cli/commands/probe';
import { tempDir } from '../temp-dir';

const BIN = path.resolve(__dirname, '../../bin/selfemd.mjs');
const home = tempDir('probe-cli-');
const CPU_MACHINE = { cpus: 2, backends: ['wasm', 'cpu'] as const };

function selfemd(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SELFEMD_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out, err })),
  );
}

const tiny = ['--demo-train', '6', '--demo-val', '6', '--demo-size', '64', '--size', '64', '--width', '4'];

describe('selfemd probe', () => {
  it('prints linear and kNN top-1 of a random-init backbone on demo splits as JSON', async () => {
    const r = await selfemd(['probe', 'random', '--data', 'demo', ...tiny, '--backend', 'wasm', '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as Record<string, unknown>;
    expect(out).toMatchObject({
      backbone: { name: 'resnet18', baseWidth: 4, init: { kind: 'random' } },
      train: 'demo',
      val: 'demo',
      size: 64,
      classes: 6,
    });
    for (const key of ['linearTop1', 'knnTop1', 'majorityTop1']) {
      expect(out[key], key).toBeGreaterThanOrEqual(0);
      expect(out[key], key).toBeLessThanOrEqual(1);
    }
    expect(out.valBoxes).toBeGreaterThan(0);
  }, 120_000);

  it('resolves the data and sizes as a fine-tune would, and names the bad flag', () => {
    const { config } = resolveProbeConfig(['random', '--data', 'demo', ...tiny], home);
    expect(config.data).toMatchObject({
      train: 'demo',
      val: 'demo',
      demoTrain: 6,
      demoVal: 6,
      minSizeTest: 64,
    });
    const error = (argv: string[]) => {
      try {
        resolveProbeConfig(argv, home);
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        return (e as Error).message;
      }
      throw new Error(`no error for ${argv.join(' ')}`);
    };
    expect(error(['--data', 'demo'])).toMatch(/^selfemd probe: usage/);
    expect(error(['random', '--train', 'demo'])).toMatch(/--train and --val \(or --data demo\) are required/);
    expect(error(['random', '--data', 'x'])).toMatch(/--data x: only "demo"/);
    expect(error(['random', '--data', 'demo', '--train', 'demo'])).toMatch(/not both/);
    expect(error(['random', '--train', '/no/such', '--val', 'demo'])).toBe(
      'selfemd probe: --train /no/such: no such file or folder',
    );
    expect(error(['no-such-run', '--data', 'demo'])).toMatch(
      /^selfemd probe: no-such-run: not "random", a file/,
    );
  });

  it('selfemd pretrain --probe-data/--probe-every set config.probe', () => {
    const { overrides } = pretrainOverrides(['--probe-data', 'demo', '--probe-every', '3'], CPU_MACHINE);
    expect(overrides.probe).toEqual({ data: 'demo', every: 3 });
    expect(() => pretrainOverrides(['--probe-data', '/no/such/coco'], CPU_MACHINE)).toThrow(
      /--probe-data \/no\/such\/coco: no such file or folder/,
    );
  });
});
