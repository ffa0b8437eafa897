/**
 * `selfemd study`'s arguments: the flags become the study request (paths absolute, demo kept), and
 * what cannot be a study is one line naming the flag or the arm, exit 2, before anything trains.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { studyRequest } from '../../src-main/cli/commands/study';
import { runSelfemd } from './run-selfemd';
import { tempDir } from '../temp-dir';

let home: string;
beforeAll(() => (home = tempDir('selfemd-study-cli-')));

describe('selfemd study arguments', () => {
  it('turns the flags into the request', () => {
    const { request, json } = studyRequest([
      '--data',
      'demo',
      '--arms',
      'random,byol,self-emd',
      '--seeds',
      '3',
      '--budget',
      'small',
      '--finetune-steps',
      '40',
      '--json',
    ]);
    expect(json).toBe(true);
    expect(request).toEqual({
      arms: ['random', 'byol', 'self-emd'],
      seeds: 3,
      budget: 'small',
      data: { unlabeled: 'demo', train: 'demo', val: 'demo' },
      finetuneSteps: 40,
    });
    const dir = fs.mkdtempSync(path.join(home, 'imgs-'));
    const own = studyRequest([
      '--unlabeled',
      dir,
      '--train',
      'demo',
      '--val',
      'demo',
      '--arms',
      'byol,self-emd',
    ]);
    expect(own.request!.data).toEqual({ unlabeled: path.resolve(dir), train: 'demo', val: 'demo' });
    expect(studyRequest(['--resume', 'abc']).resume).toBe('abc');
    const detector = studyRequest(['--data', 'demo', '--arms', 'byol,moco-v2', '--detector', 'faster-rcnn']);
    expect(detector.request!.finetune).toEqual({ detector: 'faster-rcnn' });
    expect(() => studyRequest(['--data', 'demo', '--arms', 'a,b', '--detector', 'yolo'])).toThrow(
      /^selfemd study: --detector yolo: one of retinanet, faster-rcnn/,
    );
  });

  it('refuses what cannot be a study, naming the flag', () => {
    expect(() => studyRequest(['--data', 'demo'])).toThrow(/^selfemd study: --arms is required/);
    expect(() => studyRequest(['--arms', 'a,b'])).toThrow(/--unlabeled \(or --data demo\) is required/);
    expect(() => studyRequest(['--data', 'demo', '--arms', 'a,b', '--budget', 'huge'])).toThrow(
      /--budget huge: one of smoke, small, paper/,
    );
    expect(() => studyRequest(['--data', 'demo', '--arms', 'a,b', '--seeds', '1.5'])).toThrow(
      /--seeds must be a whole number/,
    );
    expect(() => studyRequest(['--data', 'demo', '--arms', 'a,b', '--train', '/no/such'])).toThrow(
      /--train \/no\/such: no such file or folder/,
    );
    expect(() => studyRequest(['--resume', 'x', '--seeds', '2'])).toThrow(
      /--resume ID takes no other options/,
    );
  });

  it('an unknown arm: one line naming it and the arms there are, exit 2', async () => {
    const r = await runSelfemd(home, ['study', '--data', 'demo', '--arms', 'random,bogus'], {
      SELFEMD_DEBUG: '',
    });
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').at(-1)).toMatch(
      /^selfemd study: .*arm "bogus": not one of random, byol, moco-v2, simclr, self-emd-eq12, self-emd, self-emd\+spc\+scale, file:PATH/,
    );
    expect(r.err).not.toMatch(/^\s+at /m);
  }, 120_000);
});
