/**
 * A workflow end to end with real ffmpeg: PUT a workflow that ingests RTMP on its own app and
 * writes ffmpeg_hls plus ffmpeg_push to a second RTMP app that a receiver watches; update it with
 * one more step while the publisher is live (the publisher stays connected); a bad PUT changes
 * nothing; DELETE disconnects the publisher and closes the stream.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/binaries';
import { parseMediaPlaylist } from '../../src/encoding/playlist';
import { AppServer } from '../helpers/app-server';
import { startTestCastline, type TestCastline } from '../helpers/castline';
import { waitUntil } from '../helpers/wait';
import { decodeFile, probeFile } from '../encoding/helpers';
import { killAll, play, publish } from '../ingest/rtmp-ffmpeg';

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
