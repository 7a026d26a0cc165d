import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config/config';

describe('config: limits (issue 13)', () => {
  it('has the documented defaults', () => {
    const { limits } = loadConfig({ env: {}, dotenvPath: null, cwd: '/tmp' });
    expect(limits).to.deep.equal({
      encoding: { maxRenditions: 8, minDimension: 16, maxDimension: 4096, minFps: 1, maxFps: 60, previewMinIntervalSeconds: 1 },
      keyVerificationAnswerBytes: 8192, rtmpPendingHandshakes: 64, storageMinFreeBytes: 64 * 1024 * 1024,
    });
  });

  it('refuses bounds that contradict each other or go below their floor, naming the variables', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env, dotenvPath: null, cwd: '/tmp' });
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ RENDITION_MIN_DIMENSION: '500', RENDITION_MAX_DIMENSION: '400' })).to.match(/RENDITION_MIN_DIMENSION \(500\) must not exceed RENDITION_MAX_DIMENSION \(400\)/);
    expect(problems({ RENDITION_MIN_FPS: '30', RENDITION_MAX_FPS: '25' })).to.match(/RENDITION_MIN_FPS/);
    expect(problems({ PREVIEW_MIN_INTERVAL_SECONDS: '0.1' })).to.match(/PREVIEW_MIN_INTERVAL_SECONDS="0.1" must be a number from 0.5/);
    expect(problems({ MAX_RENDITIONS: '0' })).to.match(/MAX_RENDITIONS/);
  });
});
