import { expect } from 'chai';
import {
  parsePreviews,
  parseRecord,
  parseResolutions,
  parseStreamSettings,
  renderPreviews,
  renderResolutions,
  validateSettingsDefaults,
} from '../../src/config/stream-settings';
import type { ResolutionRequest, Rung } from '../../src/domain/settings';

const r = (width: number, height: number, fps = -1, kbps = -1): Rung => ({ width, height, fps, kbps });
const DEFAULTS = { resolutions: 'ORIGINAL', record: false, previews: 'False' };

describe('stream-settings', () => {
  describe('parseResolutions', () => {
    const table: Array<[string, ResolutionRequest, number]> = [
      // raw, expected, number of warnings
      ['ORIGINAL', { original: true, rungs: [] }, 0],
      ['original', { original: true, rungs: [] }, 0],
      ['1280x720-30~2500,854x480-30~1200,2560x1440-60', { original: false, rungs: [r(1280, 720, 30, 2500), r(854, 480, 30, 1200), r(2560, 1440, 60)] }, 0],
      ['ORIGINAL,1280x720-30', { original: true, rungs: [r(1280, 720, 30)] }, 0],
      ['720x480, ORIGINAL', { original: true, rungs: [r(720, 480)] }, 0], // the reference loses ORIGINAL here
      ['  Original ,256 x 144 - 15 ~ 300 ', { original: true, rungs: [r(256, 144, 15, 300)] }, 0],
      ['1280X720', { original: false, rungs: [r(1280, 720)] }, 0],
      ['1280x720~900', { original: false, rungs: [r(1280, 720, -1, 900)] }, 0],
      ['1280x720,abc,640x360-30', { original: false, rungs: [r(1280, 720), r(640, 360, 30)] }, 1],
      ['1280x720-30-60', { original: true, rungs: [] }, 2], // only part malformed → ORIGINAL
      ['1280x720~fast', { original: true, rungs: [] }, 2],
      ['0x720', { original: true, rungs: [] }, 2],
      ['1280x720-0', { original: true, rungs: [] }, 2],
      ['99999x720', { original: true, rungs: [] }, 2],
      ['-1280x720', { original: true, rungs: [] }, 2],
      ['1280.5x720', { original: true, rungs: [] }, 2],
      [',,', { original: true, rungs: [] }, 1],
      ['', { original: true, rungs: [] }, 0],
      ['640x360,,ORIGINAL,', { original: true, rungs: [r(640, 360)] }, 0],
    ];
    for (const [raw, expected, warnings] of table) {
      it(`${JSON.stringify(raw)} → ${renderResolutions(expected)} (${warnings} warning(s))`, () => {
        const parsed = parseResolutions(raw);
        expect(parsed.value).to.deep.equal(expected);
        expect(parsed.warnings, parsed.warnings.join(' | ')).to.have.length(warnings);
        for (const w of parsed.warnings) expect(w).to.match(/^x-resolutions /);
      });
    }
  });

  describe('parsePreviews', () => {
    const table: Array<[string, { width: number; height: number; intervalSeconds: number } | null, number]> = [
      ['256x144,5', { width: 256, height: 144, intervalSeconds: 5 }, 0],
      ['256x144, 5', { width: 256, height: 144, intervalSeconds: 5 }, 0],
      [' 256 x 144 , 5 ', { width: 256, height: 144, intervalSeconds: 5 }, 0], // the reference disables this
      ['640X360,10', { width: 640, height: 360, intervalSeconds: 10 }, 0],
      ['False', null, 0],
      ['false', null, 0],
      ['FALSE', null, 0],
      ['no', null, 0],
      ['256x144', null, 1],
      ['256x144,0', null, 1],
      ['256x144,5,7', null, 1],
      ['0x144,5', null, 1],
      ['256x144,1.5', null, 1],
      ['True', null, 1],
    ];
    for (const [raw, expected, warnings] of table) {
      it(`${JSON.stringify(raw)} → ${renderPreviews(expected)}`, () => {
        const parsed = parsePreviews(raw);
        expect(parsed.value).to.deep.equal(expected);
        expect(parsed.warnings).to.have.length(warnings);
      });
    }
  });

  describe('parseRecord', () => {
    const table: Array<[string, boolean, number]> = [
      ['true', true, 0], ['True', true, 0], ['TRUE', true, 0], [' yes ', true, 0], ['1', true, 0], ['on', true, 0],
      ['false', false, 0], ['False', false, 0], ['no', false, 0], ['0', false, 0], ['off', false, 0],
      ['maybe', false, 1], ['2', false, 1],
    ];
    for (const [raw, expected, warnings] of table) {
      it(`${JSON.stringify(raw)} → ${expected}`, () => {
        const parsed = parseRecord(raw);
        expect(parsed.value).to.equal(expected);
        expect(parsed.warnings).to.have.length(warnings);
      });
    }
  });

  describe('parseStreamSettings', () => {
    const custom = { resolutions: '1280x720-30,640x360', record: true, previews: '160x90,10' };
    const table: Array<[string, Parameters<typeof parseStreamSettings>[0], typeof DEFAULTS, ReturnType<typeof parseStreamSettings>['settings'], number]> = [
      ['no headers, built-in defaults', {}, DEFAULTS, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 0],
      ['no headers, configured defaults', {}, custom, { resolutions: { original: false, rungs: [r(1280, 720, 30), r(640, 360)] }, record: true, previews: { width: 160, height: 90, intervalSeconds: 10 } }, 0],
      ['blank headers count as absent', { record: ' ', previews: '', resolutions: '' }, custom, { resolutions: { original: false, rungs: [r(1280, 720, 30), r(640, 360)] }, record: true, previews: { width: 160, height: 90, intervalSeconds: 10 } }, 0],
      ['null headers count as absent', { record: null, previews: null, resolutions: null }, DEFAULTS, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 0],
      ['headers win over defaults', { record: 'false', previews: 'False', resolutions: 'ORIGINAL' }, custom, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 0],
      ['every header set', { record: 'True', previews: '256x144, 5', resolutions: '854x480-30~1200, ORIGINAL' }, DEFAULTS, { resolutions: { original: true, rungs: [r(854, 480, 30, 1200)] }, record: true, previews: { width: 256, height: 144, intervalSeconds: 5 } }, 0],
      ['malformed values: reference outcomes + warnings', { record: 'sure', previews: 'big', resolutions: 'huge' }, custom, { resolutions: { original: true, rungs: [] }, record: false, previews: null }, 4],
    ];
    for (const [name, headers, defaults, expected, warnings] of table) {
      it(name, () => {
        const parsed = parseStreamSettings(headers, defaults);
        expect(parsed.settings).to.deep.equal(expected);
        expect(parsed.warnings, parsed.warnings.join(' | ')).to.have.length(warnings);
      });
    }
  });

  describe('renderResolutions', () => {
    const table: Array<[ResolutionRequest, string]> = [
      [{ original: true, rungs: [] }, 'ORIGINAL'],
      [{ original: false, rungs: [] }, 'ORIGINAL'],
      [{ original: true, rungs: [r(1280, 720, 30, 2500), r(640, 360)] }, 'ORIGINAL,1280x720-30~2500,640x360'],
      [{ original: false, rungs: [r(854, 480, -1, 1200), r(640, 360, 25)] }, '854x480~1200,640x360-25'],
    ];
    for (const [request, expected] of table) {
      it(expected, () => {
        expect(renderResolutions(request)).to.equal(expected);
        expect(parseResolutions(expected).value).to.deep.equal(request.rungs.length === 0 ? { original: true, rungs: [] } : request);
      });
    }
    it('round-trips a tolerant header to the canonical form', () => {
      expect(renderResolutions(parseResolutions(' 720x480 - 30 , original ').value)).to.equal('ORIGINAL,720x480-30');
    });
  });

  describe('validateSettingsDefaults', () => {
    const table: Array<[string, string, string[]]> = [
      ['ORIGINAL', 'False', []],
      ['1280x720-30~2500, 640x360', '256x144, 5', []],
      ['', 'False', ['DEFAULT_RESOLUTIONS']],
      ['1280x720,bogus', 'False', ['DEFAULT_RESOLUTIONS']],
      ['ORIGINAL', '256x144', ['DEFAULT_PREVIEWS']],
      ['nope', 'nope', ['DEFAULT_RESOLUTIONS', 'DEFAULT_RESOLUTIONS', 'DEFAULT_PREVIEWS']],
    ];
    for (const [resolutions, previews, expected] of table) {
      it(`${JSON.stringify(resolutions)} / ${JSON.stringify(previews)} → ${expected.length} problem(s)`, () => {
        const problems = validateSettingsDefaults({ resolutions, previews });
        expect(problems.map((p) => p.split(/[: ]/)[0])).to.deep.equal(expected);
      });
    }
    it('names the bad part', () => {
      expect(validateSettingsDefaults({ resolutions: '1280x720,bogus', previews: 'False' })).to.deep.equal([
        'DEFAULT_RESOLUTIONS: part "bogus" is not ORIGINAL or {W}x{H}[-{FPS}][~{KBPS}]',
      ]);
    });
  });
});
