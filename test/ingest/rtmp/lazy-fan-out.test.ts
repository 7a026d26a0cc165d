/**
 * node-media-server's fan-out with castline's media tap on (HLS_SEGMENT_FORMAT=fmp4, the default):
 * it runs only while an RTMP player is attached, and a player that comes late still starts with
 * the metadata, the codec headers and the GOP since the last keyframe — checked on what a real
 * ffmpeg player recorded, against what the tap saw. Real NMS, real ffmpeg publisher and players.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Context from 'node-media-server/src/core/context.js';
import { ffmpegPath, ffprobePath } from '../../../src/encoding/binaries';
import type { TapPacket } from '../../../src/ingest/rtmp/media-tap';
import { RtmpIngest } from '../../../src/ingest/rtmp/rtmp-ingest';
import { silentLogger } from '../../../src/logging/logger';
import { accept, deferredDecider, FakePublishSink } from '../../fakes/publish-sink';
import { killAll, play, publishObsLike, sleep, within } from './rtmp-ffmpeg';
import { waitUntil } from '../../helpers/wait';

type NmsCaches = { rtmpVideoHeader: Buffer | null; rtmpAudioHeader: Buffer | null; rtmpGopCache: Set<Buffer> | null; subscribers: Map<string, unknown> };

interface VideoPacket {
  /** Decode time, s (the RTMP timestamp). */
  dts: number;
  keyframe: boolean;
}

/** The video packets of a recording (stream timestamps), from ffprobe. */
function videoPackets(file: string): Promise<VideoPacket[]> {
  return new Promise((resolve, reject) => {
    execFile(ffprobePath, ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=dts_time,flags', '-of', 'json', file], { maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      const out = JSON.parse(stdout) as { packets?: Array<{ dts_time: string; flags: string }> };
      resolve((out.packets ?? []).map((p) => ({ dts: Number(p.dts_time), keyframe: p.flags.startsWith('K') })));
    });
  });
}

/** ffmpeg decodes the whole recording: its error output (empty = clean). */
function decodeErrors(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(ffmpegPath, ['-v', 'error', '-i', file, '-f', 'null', '-'], (err, _stdout, stderr) => resolve(`${err ? `exit ${err.code}; ` : ''}${stderr}`.trim()));
  });
}

describe('ingest/rtmp: lazy fan-out (node-media-server fans out only to players; late players get headers + GOP)', function () {
  this.timeout(60_000);
  let dir: string;
  let coordinator: FakePublishSink;
  let ingest: RtmpIngest;
  const url = (channel: string, key: string) => `rtmp://127.0.0.1:${ingest.port}/${channel}/${key}`;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-fanout-'));
    coordinator = new FakePublishSink();
    ingest = new RtmpIngest({
      sink: coordinator,
      config: { rtmpPort: 0, bindAddress: '127.0.0.1', idMaxLength: 16, statePath: path.join(dir, 'state') },
      logger: silentLogger,
      serverId: 1,
      mediaTapBytes: 16 << 20,
    });
    await ingest.start();
  });

  afterEach(async () => {
    await killAll();
    await ingest.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Subscribes like the packager does; records every key frame's time and the last packet's. */
  async function watchTap(channel: string) {
    const { decision } = await within(10_000, 'the decision', coordinator.decision(1));
    if (!decision.accepted) throw new Error('refused');
    const seen = { keyframes: [] as number[], last: -1, packets: 0 };
    const off = ingest.subscribeMedia(channel, decision.streamId, {
      packet: (p: TapPacket) => {
        seen.packets++;
        seen.last = p.timestamp;
        if (p.type === 9 && p.body[0]! >> 4 === 1 && p.body[1] === 1) seen.keyframes.push(p.timestamp);
      },
      end: () => undefined,
    });
    expect(off).to.not.equal(null);
    return seen;
  }

  /** Starts a player and returns the last keyframe time the tap had seen when node-media-server admitted it. */
  async function latePlayer(channel: string, key: string, file: string, seen: { keyframes: number[] }) {
    let keyframeAtJoin = -1;
    const onPlay = () => {
      keyframeAtJoin = seen.keyframes.at(-1) ?? -1;
    };
    Context.eventEmitter.once('postPlay', onPlay);
    const player = play(url(channel, key), file, true);
    await waitUntil(() => keyframeAtJoin >= 0, 'the player to be admitted', 10_000, 20);
    return { player, keyframeAtJoin };
  }

  it('fans out nothing while nobody plays; a late player starts on the cached keyframe, decodes cleanly, and a second one after it left too', async () => {
    const publisher = publishObsLike(url('lf1', 'k1'), 9, '320x180', 25);
    const seen = await watchTap('lf1');
    await sleep(2300);
    const broadcast = () => Context.broadcasts.get('/lf1/k1') as unknown as NmsCaches;
    expect(seen.packets, 'media flows to the tap').to.be.above(50);
    expect(broadcast().rtmpVideoHeader, 'no RTMP copies without a player').to.equal(null);
    expect(broadcast().rtmpGopCache).to.equal(null);

    // A player mid-GOP (1 s keyframes): it must get the headers and the frames since the last keyframe.
    const first = await latePlayer('lf1', 'k1', path.join(dir, 'first.flv'), seen);
    expect(broadcast().rtmpVideoHeader).to.not.equal(null);
    expect(broadcast().rtmpGopCache?.size ?? 0, 'node-media-server GOP cache built from the tap').to.be.above(0);
    await sleep(1800);
    first.player.proc.kill('SIGINT');
    await within(10_000, 'the first player to stop', first.player.exited);
    await waitUntil(() => broadcast().subscribers.size === 0, 'the player to be detached', 5000, 20);
    await sleep(300);
    expect(broadcast().rtmpGopCache, 'fan-out stopped after the last player left').to.equal(null);

    const second = await latePlayer('lf1', 'k1', path.join(dir, 'second.flv'), seen);
    await within(15_000, 'the publisher to finish', publisher.exited);
    await within(10_000, 'the second player to end on EOF', second.player.exited);

    for (const [name, joined] of [['first.flv', first.keyframeAtJoin], ['second.flv', second.keyframeAtJoin]] as const) {
      const file = path.join(dir, name);
      const packets = await videoPackets(file);
      expect(packets.length, name).to.be.above(10);
      expect(packets[0]!.keyframe, `${name} starts on a keyframe`).to.equal(true);
      // The first frame is the keyframe the tap held when the player joined: the GOP was sent (± 1 ms timestamp rounding).
      expect(Math.abs(packets[0]!.dts * 1000 - joined), `${name}: first frame ${packets[0]!.dts} s, keyframe at join ${joined} ms`).to.be.at.most(2);
      expect(await decodeErrors(file), name).to.equal('');
    }
  });

  it('a player waiting before the key is accepted gets the stream from its first packet (fan-out running from the start)', async () => {
    const decider = deferredDecider();
    coordinator.decide = decider.decide;
    const publisher = publishObsLike(url('lf2', 'k2'), 4, '320x180', 25);
    await within(10_000, 'the publish request', new Promise((r) => coordinator.events.once('publish', r)));
    const player = play(url('lf2', 'k2'), path.join(dir, 'early.flv'), true);
    await waitUntil(() => (ingest.publisherList()[0]?.players ?? 0) > 0, 'the player to be held', 10_000, 20);
    decider.release(accept());
    await within(15_000, 'the publisher to finish', publisher.exited);
    await within(10_000, 'the player to end on EOF', player.exited);
    const packets = await videoPackets(path.join(dir, 'early.flv'));
    expect(packets[0]).to.deep.include({ keyframe: true });
    expect(packets[0]!.dts).to.be.at.most(0.1);
    expect(packets.length).to.be.at.least(80); // 4 s at 25 fps, minus what the player's start missed
    expect(await decodeErrors(path.join(dir, 'early.flv'))).to.equal('');
  });
});
