/**
 * A workflow end to end with real ffmpeg: PUT a workflow that ingests RTMP on its own app and
 * writes ffmpeg_hls plus ffmpeg_push to a second RTMP app that a receiver watches; update it with
 * one more step while the publisher is live (the publisher stays connected); a bad PUT changes
 * nothing; DELETE disconnects the publisher and closes the stream.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { decodeFile, probeFile } from '../encoding/helpers';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { waitUntil } from '../helpers/wait';
import { killAll, play, publish } from '../ingest/rtmp/rtmp-ffmpeg';

describe('end to end: workflows with real ffmpeg', function () {
  this.timeout(120_000);
  let app: AppServer;
  let castline: TestCastline;
  const api = async (method: string, p: string, body?: string) => {
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}${p}`, { method, body, headers: { connection: 'close' } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> & { streams?: Array<{ streamId: string; steps: Array<{ step_id: string; status: string }> }> } };
  };
  const studio = (extra = '') => `workflow studio {
    rtmp_receive rtmp_app=studio stream_key=*
    ffmpeg_hls path=studio-hls duration=1
    ffmpeg_push target=rtmp://127.0.0.1:${castline.rtmpPort}/relay/good-relay
${extra}}
`;

  before(async () => {
    app = await new AppServer().start();
    castline = await startTestCastline({ KEY_VERIFICATION_URL: `${app.url}/verify`, EVENT_CALLBACK_URL: `${app.url}/events`, HLS_TIME_SECONDS: '1' });
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
  });

  it('runs the workflow, keeps the publisher through an update and a bad PUT, and DELETE closes it', async () => {
    const created = await api('PUT', '/workflows', studio());
    expect(created.status, JSON.stringify(created.json)).to.equal(200);

    const publisher = publish(`rtmp://127.0.0.1:${castline.rtmpPort}/studio/any-key`, 40);
    await waitUntil(() => castline.coordinator.livePublisher('studio'), 'studio live', 15_000);
    const streamId = castline.coordinator.livePublisher('studio')!.streamId;
    // No verify_key step: the studio key was never sent to the application.
    expect(app.verifications.some((v) => v.headers['x-streaming-channel'] === 'studio')).to.equal(false);

    // ffmpeg_push publishes into castline's own RTMP app `relay` (the default workflow takes it).
    await waitUntil(() => castline.coordinator.livePublisher('relay'), 'relay live', 20_000);
    const received = path.join(castline.root, 'received.flv');
    const receiver = play(`rtmp://127.0.0.1:${castline.rtmpPort}/relay/good-relay`, received);

    const playlist = path.join(castline.dataDir, 'studio-hls', 'studio.m3u8');
    await waitUntil(() => fs.existsSync(playlist) && parseMediaPlaylist(fs.readFileSync(playlist, 'utf8')).segments.length >= 2, 'ffmpeg_hls playlist', 20_000);
    let details = await api('GET', '/workflows/studio');
    expect(details.json.streams).to.have.length(1);
    expect(details.json.streams![0].streamId).to.equal(streamId);
    await waitUntil(async () => (await api('GET', '/workflows/studio')).json.streams![0].steps.every((s) => s.status === 'Active'), 'steps active', 10_000);

    // Update with one more step while live: the publisher stays, the new step starts.
    const updated = await api('PUT', '/workflows', studio('    ffmpeg_hls path=studio-copy duration=1\n'));
    expect(updated.status).to.equal(200);
    expect(updated.json.created).to.equal(false);
    const copy = path.join(castline.dataDir, 'studio-copy', 'studio.m3u8');
    await waitUntil(() => fs.existsSync(copy), 'new step output', 20_000);
    details = await api('GET', '/workflows/studio');
    expect(details.json.streams![0].streamId).to.equal(streamId);
    expect(details.json.streams![0].steps).to.have.length(3);
    expect(publisher.running(), 'publisher still connected after the update').to.equal(true);
    expect(castline.coordinator.livePublisher('studio')?.streamId).to.equal(streamId);

    // A bad PUT leaves the running workflow untouched.
    const bad = await api('PUT', '/workflows', 'workflow studio {\n    rtmp_receive rtmp_app=studio stream_key=*\n    ffmpeg_hls\n}\n');
    expect(bad.status).to.equal(400);
    expect((await api('GET', '/workflows/studio')).json.active_steps).to.deep.equal(details.json.active_steps);
    expect(publisher.running()).to.equal(true);

    // DELETE: the publisher is disconnected, the stream closes (workflow-removed), outputs end.
    expect((await api('DELETE', '/workflows/studio')).status).to.equal(200);
    const exit = await publisher.exited;
    expect(exit.code).not.to.equal(0);
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'studio stream-closed', 20_000);
    expect(app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'workflow-removed' });
    await receiver.exited;
    await waitUntil(() => parseMediaPlaylist(fs.readFileSync(playlist, 'utf8')).ended, 'ffmpeg_hls ENDLIST', 15_000);

    // What the receiver watched on the second app decodes.
    expect(probeFile(received)).to.include({ width: 320, height: 180 });
    decodeFile(ffmpegPath, received);
    for (const seg of parseMediaPlaylist(fs.readFileSync(playlist, 'utf8')).segments) decodeFile(ffmpegPath, path.join(path.dirname(playlist), seg.uri));
  });
});

describe('end to end: pulled source, transcode, RTMP watch and forwarding', function () {
  this.timeout(120_000);
  let app: AppServer;
  let castline: TestCastline;

  before(async () => {
    app = await new AppServer().start();
    castline = await startTestCastline({ EVENT_CALLBACK_URL: `${app.url}/events`, HLS_TIME_SECONDS: '1' });
  });
  after(async () => {
    await killAll();
    await castline?.dispose();
    await app?.stop();
  });

  it('ffmpeg_pull → ffmpeg_transcode → rtmp_watch → forward_to_workflow (whose hls_ladder encodes the transcoded stream)', async () => {
    // A 12 s source file for the pull.
    const source = path.join(castline.root, 'source.flv');
    const { execFileSync } = await import('node:child_process');
    execFileSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15', '-f', 'lavfi', '-i', 'sine', '-t', '12',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-c:a', 'aac', '-f', 'flv', source]);
    const put = async (text: string) => {
      const res = await fetch(`http://127.0.0.1:${castline.httpPort}/workflows`, { method: 'PUT', body: text, headers: { connection: 'close' } });
      expect(res.status, await res.text()).to.equal(200);
    };
    await put('workflow archive {\n    hls_ladder resolutions=160x90-15\n}\n');
    await put(`workflow tv {\n    ffmpeg_pull location=${source} stream_name=pulled\n    ffmpeg_transcode vcodec=h264 acodec=aac size=160x90 kbps=150 h264_preset=ultrafast\n    rtmp_watch rtmp_app=watch stream_key=tv\n    forward_to_workflow target_workflow=archive\n}\n`);

    await waitUntil(() => castline.coordinator.livePublisher('pulled'), 'pulled stream live', 20_000);
    const streamId = castline.coordinator.livePublisher('pulled')!.streamId;
    const watched = path.join(castline.root, 'watched.flv');
    await waitUntil(async () => {
      const details = (await (await fetch(`http://127.0.0.1:${castline.httpPort}/workflows/tv`, { headers: { connection: 'close' } })).json()) as { streams: Array<{ steps: Array<{ status: string }> }> };
      return details.streams[0]?.steps.length === 2 && details.streams[0].steps.every((s) => s.status === 'Active');
    }, 'transcode and watch active', 20_000);
    const viewer = play(`rtmp://127.0.0.1:${castline.rtmpPort}/watch/tv`, watched);

    // The forwarded workflow's ladder encodes the transcoded stream and the application hears of it.
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-stream-type'] === 'HLS-LIVE'), 'HLS-LIVE of the pulled stream', 30_000);
    const live = app.deliveredFor(streamId).find((h) => h['x-stream-type'] === 'HLS-LIVE')!;
    expect(live).to.include({ 'x-streaming-channel': 'pulled', 'x-resolution': '160x90-15' });

    // The file ends: the pull ends, the session closes, the viewer gets EOF.
    await waitUntil(() => app.deliveredFor(streamId).some((h) => h['x-event-type'] === 'stream-closed'), 'stream-closed', 40_000);
    expect(app.deliveredFor(streamId).at(-1)).to.include({ 'x-close-reason': 'publisher-disconnected' });
    await viewer.exited;
    expect(probeFile(watched)).to.include({ width: 160, height: 90 });
    decodeFile(ffmpegPath, watched);
    const playlist = path.join(castline.dataDir, String(live['x-index-file']));
    expect(parseMediaPlaylist(fs.readFileSync(playlist, 'utf8')).segments.length).to.be.greaterThan(3);
  });
});
