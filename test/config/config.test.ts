import { expect } from 'chai';
import * as path from 'node:path';
import { VARIABLES } from '../../src/config/config';
import { loadFrom, problemsOf as configProblems } from '../helpers/config';

const load = loadFrom;
const problemsOf = (env: Record<string, string>) => configProblems(load, env);

describe('config', () => {
  it('uses the documented defaults with an empty environment', () => {
    const c = load({});
    expect(c.httpPort).to.equal(8080);
    expect(c.rtmpPort).to.equal(1935);
    expect(c.hlsFilesystemPath).to.equal(path.resolve('/srv/castline', 'data'));
    expect(c.idMaxLength).to.equal(128);
    expect(c.keyVerification).to.deep.equal({ url: '', auth: { method: 'none' }, timeoutMs: 10_000 });
    expect(c.commandsAuth).to.deep.equal({ method: 'none' });
    expect(c.defaults).to.deep.equal({ resolutions: 'ORIGINAL', record: false, previews: 'False' });
  });

  it('HLS_SEGMENT_FORMAT (fmp4 by default, or mpegts) and HLS_PART_SECONDS (0.333; 0.1 to less than HLS_TIME_SECONDS)', () => {
    expect(load({}).encoding).to.include({ segmentFormat: 'fmp4', partSeconds: 0.333 });
    expect(load({ HLS_SEGMENT_FORMAT: 'mpegts', HLS_PART_SECONDS: '0.1', HLS_TIME_SECONDS: '1' }).encoding).to.include({ segmentFormat: 'mpegts', partSeconds: 0.1, hlsTimeSeconds: 1 });
    expect(problemsOf({ HLS_SEGMENT_FORMAT: 'cmaf' }).join('\n')).to.match(/HLS_SEGMENT_FORMAT/);
    expect(problemsOf({ HLS_PART_SECONDS: '0.05' }).join('\n')).to.match(/HLS_PART_SECONDS/);
    expect(problemsOf({ HLS_PART_SECONDS: '1', HLS_TIME_SECONDS: '1' })).to.deep.equal(['HLS_PART_SECONDS=1 must be shorter than HLS_TIME_SECONDS=1']);
  });

  it('every variable default parses', () => {
    for (const v of VARIABLES) expect(() => v.parse(v.default), v.name).not.to.throw();
  });

  it('reads the spec names exactly, auth methods in any case', () => {
    const c = load({
      KEY_VERIFICATION_URL: 'http://app.local/verify',
      KEY_VERIFICATION_AUTH: 'basic',
      KEY_VERIFICATION_AUTH_USER: 'u',
      KEY_VERIFICATION_PASSWORD: 'p',
      EVENT_CALLBACK_URL: 'https://app.local/events',
      EVENT_CALLBACK_AUTH: 'CUSTOM',
      EVENT_CALLBACK_AUTH_CUSTOM: 'Token abc',
      COMMANDS_API_AUTH: 'Bearer',
      COMMANDS_API_AUTH_TOKEN: 's3cret',
    });
    expect(c.keyVerification.auth).to.deep.equal({ method: 'Basic', user: 'u', password: 'p' });
    expect(c.eventCallback.auth).to.deep.equal({ method: 'Custom', value: 'Token abc' });
    expect(c.commandsAuth).to.deep.equal({ method: 'Bearer', token: 's3cret' });
  });

  const invalid: Array<[Record<string, string>, string]> = [
    [{ HTTP_PORT: 'eighty' }, 'HTTP_PORT="eighty" must be a whole number from 0 to 65535'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT="70000" must be a whole number from 0 to 65535'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud" must be one of trace, debug, info, warn, error, silent'],
    [{ KEY_VERIFICATION_URL: 'ftp://x' }, 'KEY_VERIFICATION_URL="ftp://x" must be an absolute http:// or https:// URL'],
    [{ KEY_VERIFICATION_AUTH: 'Digest' }, 'KEY_VERIFICATION_AUTH="Digest" must be one of Basic, Bearer, Custom'],
    [{ COMMANDS_API_AUTH: 'Custom' }, 'COMMANDS_API_AUTH="Custom" must be one of Basic, Bearer'],
    [{ COMMANDS_API_AUTH: 'Bearer' }, 'COMMANDS_API_AUTH_TOKEN must be set when COMMANDS_API_AUTH=Bearer'],
    [{ EVENT_CALLBACK_AUTH: 'Basic' }, 'EVENT_CALLBACK_AUTH_USER must be set when EVENT_CALLBACK_AUTH=Basic'],
    [{ DEFAULT_RECORD: 'maybe' }, 'DEFAULT_RECORD="maybe" must be true or false (also accepted: yes/no, 1/0, on/off)'],
    [{ ENCODER_CAPACITY: '-2' }, 'ENCODER_CAPACITY="-2" must be a whole number from -1 to 1000000'],
    [{ HLS_ORIGINAL_MODE: 'passthrough' }, 'HLS_ORIGINAL_MODE="passthrough" must be one of copy, encode'],
  ];
  for (const [env, message] of invalid) {
    it(`refuses ${JSON.stringify(env)} naming the variable and the accepted values`, () => {
      expect(problemsOf(env)).to.include(message);
    });
  }

  it('lists every problem at once', () => {
    expect(problemsOf({ HTTP_PORT: 'x', RTMP_PORT: 'y' })).to.have.length(2);
  });

  it('returns a frozen object', () => {
    const c = load({});
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.keyVerification)).to.equal(true);
  });
});
