import { expect } from 'chai';
import { parseResolutions } from '../../src/config/stream-settings';
import type { EncodingLimits } from '../../src/domain/settings';
import type { StreamSettings } from '../../src/domain/settings';
import { applyEncodingLimits } from '../../src/encoding/limits';

const LIMITS: EncodingLimits = { maxRenditions: 8, minDimension: 16, maxDimension: 4096, minFps: 1, maxFps: 60, previewMinIntervalSeconds: 1 };
const settings = (resolutions: string, previews: StreamSettings['previews'] = null): StreamSettings =>
  ({ resolutions: parseResolutions(resolutions).value, record: false, previews });

describe('encoding limits (pure)', () => {
  it('keeps the first MAX_RENDITIONS distinct parts (ORIGINAL counts) and names the dropped ones', () => {
    const rungs = Array.from({ length: 1450 }, (_, i) => `${16 + 2 * (i % 150)}x${16 + 2 * Math.floor(i / 150)}`);
    const { settings: out, warnings } = applyEncodingLimits(settings(`ORIGINAL,${rungs.join(',')}`), LIMITS);
    expect(out.resolutions.original).to.equal(true);
    expect(out.resolutions.rungs.map((r) => `${r.width}x${r.height}`)).to.deep.equal(rungs.slice(0, 7));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^1443 rung\(s\) beyond MAX_RENDITIONS \(8\) dropped: 30x16, 32x16, .* and 1433 more$/);
  });

  it('merges duplicates before counting', () => {
    const { settings: out, warnings } = applyEncodingLimits(settings(Array(20).fill('320x180-15').join(',')), LIMITS);
    expect(out.resolutions.rungs).to.have.length(1);
    expect(warnings).to.deep.equal([]);
  });

  it('drops rungs outside the size bounds, brings frame rates within bounds; nothing left → ORIGINAL', () => {
    const a = applyEncodingLimits(settings('8x8, 5000x5000-30, 640x360-240, 320x180'), LIMITS);
    expect(a.settings.resolutions).to.deep.equal({ original: false, rungs: [{ width: 640, height: 360, fps: 60, kbps: -1 }, { width: 320, height: 180, fps: -1, kbps: -1 }] });
    expect(a.warnings.join('\n')).to.include('640x360-240: frame rate brought to 60').and.include('8x8, 5000x5000-30');
    const b = applyEncodingLimits(settings('8x8'), LIMITS);
    expect(b.settings.resolutions).to.deep.equal({ original: true, rungs: [] });
    expect(b.warnings.at(-1)).to.match(/using ORIGINAL/);
  });

  it('disables previews that are too small, too large or too frequent', () => {
    for (const previews of [{ width: 1, height: 1, intervalSeconds: 1 }, { width: 8000, height: 90, intervalSeconds: 5 }]) {
      const r = applyEncodingLimits(settings('ORIGINAL', previews), LIMITS);
      expect(r.settings.previews).to.equal(null);
      expect(r.warnings[0]).to.match(/size outside 16\.\.4096/);
    }
    const slow = applyEncodingLimits(settings('ORIGINAL', { width: 160, height: 90, intervalSeconds: 1 }), { ...LIMITS, previewMinIntervalSeconds: 2 });
    expect(slow.settings.previews).to.equal(null);
    expect(slow.warnings[0]).to.match(/PREVIEW_MIN_INTERVAL_SECONDS \(2 s\)/);
    const fine = applyEncodingLimits(settings('ORIGINAL', { width: 160, height: 90, intervalSeconds: 5 }), LIMITS);
    expect(fine).to.deep.equal({ settings: settings('ORIGINAL', { width: 160, height: 90, intervalSeconds: 5 }), warnings: [] });
  });
});
