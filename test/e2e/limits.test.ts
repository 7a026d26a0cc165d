/**
 * Limits on what an application or a workflow may ask for (issue 13), end to end: a real
 * application answers key verification, real ffmpeg publishes over RTMP, the encoder writes what
 * it writes, and the log says what was dropped.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { waitUntil } from '../helpers/wait';
import { killAll, publish } from '../ingest/rtmp/rtmp-ffmpeg';

/** `count` distinct rungs: first the 16:9 boxes 32x18·k at 15 fps (fit a 320x180 source exactly), then filler. */
function manyRungs(count: number): string {
  const rungs = Array.from({ length: 10 }, (_, i) => `${32 * (i + 1)}x${18 * (i + 1)}-15`);
  for (let i = 0; rungs.length < count; i++) rungs.push(`${16 + 2 * (i % 150)}x${16 + 2 * Math.floor(i / 150)}-${1 + (i % 15)}`);
  return rungs.join(',');
}

describe('end to end: limits on the ladder, previews and the key-verification answer', function () {
  this.timeout(90_000);
  let app: AppServer;
  let castline: TestCastline;
  let log: CapturedLog;

  before(async () => {
    app = await new AppServer().start();
    log = captureLog();
    castline = await startTestCastline({
      KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`,
      KEY_VERIFICATION_MAX_ANSWER_BYTES: '20000', ENCODER_CAPACITY: '1',
    }, log.logger);
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
  });

  const closedEvent = (channel: string) => waitUntil(() => app.delivered().find((h) => h['x-streaming-channel'] === channel && h['x-event-type'] === 'stream-closed'), `stream-closed of ${channel}`, 40_000);
  const available = (channel: string) => app.delivered().filter((h) => h['x-streaming-channel'] === channel && h['x-event-type'] === 'stream-available');

  it('1,450 distinct rungs in x-resolutions: MAX_RENDITIONS (8) encoded, the rest dropped with a warning naming them, the stream goes on', async () => {
    app.settings = { 'x-resolutions': manyRungs(1450) };
    expect(app.settings['x-resolutions'].length).to.be.above(12_000);
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/many/good-key`, 4);
    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    const closed = (await closedEvent('many'))!;
    expect(closed['x-close-reason']).to.equal('publisher-disconnected');
    const live = available('many').filter((h) => h['x-stream-type'] === 'HLS-LIVE').map((h) => h['x-resolution']);
    expect(live).to.have.members(Array.from({ length: 8 }, (_, i) => `${32 * (i + 1)}x${18 * (i + 1)}-15`));
    const master = fs.readFileSync(path.join(castline.dataDir, 'hls', 'many', String(closed['x-streaming-id']), 'master.m3u8'), 'utf8');
    expect(master.match(/#EXT-X-STREAM-INF/g)).to.have.length(8);
    const warning = log.find('beyond the limits').at(-1);
    expect(warning?.ch).to.equal('many');
    expect((warning?.warnings as string[]).join()).to.match(/1442 rung\(s\) beyond MAX_RENDITIONS \(8\) dropped: 288x162-15, 320x180-15, 16x16-1, .* and 1432 more/);
  });

  it('rungs and previews outside the size and fps bounds: dropped, lowered, disabled; the stream goes on', async () => {
    app.settings = { 'x-resolutions': '8x8-15, 5000x5000-15, 160x90-240', 'x-previews': '8x8, 1' };
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/bounds/good-key`, 3);
    expect((await publisher.exited).code, publisher.stderr()).to.equal(0);
    await closedEvent('bounds');
    // 240 fps is lowered to RENDITION_MAX_FPS (60), then to the source's 25 by the ladder.
    expect(available('bounds').map((h) => `${h['x-stream-type']} ${h['x-resolution']}`)).to.deep.equal(['HLS-LIVE 160x90-25']);
    const warnings = (log.find('beyond the limits').find((l) => l.ch === 'bounds')?.warnings as string[]).join('\n');
    expect(warnings).to.include('8x8-15, 5000x5000-15').and.include('160x90-240: frame rate brought to 60').and.include('previews 8x8, 1 disabled');
  });

  it('an answer larger than KEY_VERIFICATION_MAX_ANSWER_BYTES refuses the key; the server goes on', async () => {
    app.settings = { 'x-resolutions': manyRungs(2500) };
    expect(app.settings['x-resolutions'].length).to.be.above(20_000);
    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/huge/good-key`, 3);
    const exit = await publisher.exited;
    expect(exit.code, 'the publisher was disconnected').to.not.equal(0);
    const refused = log.find('key refused').find((l) => l.ch === 'huge');
    expect(String(refused?.reason)).to.match(/Header overflow|HPE_HEADER_OVERFLOW/i);
    expect(available('huge')).to.deep.equal([]);
    expect((await fetch(`http://127.0.0.1:${castline.httpPort}/`)).status).to.equal(200);
  });
});
