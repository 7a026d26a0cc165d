import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ffmpegPath } from '../../src/encoding/binaries';
import { buildFfmpegArgs, keyframeKeepingRate, type CommandPlan, type EncodingOptions } from '../../src/encoding/ffmpeg-args';
import { selectLadder, type SourceInfo } from '../../src/encoding/ladder';
import { flvEvents, makeFlv, tempDir } from '../packaging/media';

const options: EncodingOptions = { hlsTimeSeconds: 2, h264Preset: 'veryfast', videoCodec: 'libx264', audioCodec: 'aac', pixelFormat: 'yuv420p', readTimeoutSeconds: 5 };
const info: SourceInfo = { width: 640, height: 360, fps: 30, videoCodec: 'h264', audioCodec: 'aac', formatName: 'flv' };
const source = { type: 'RTMP' as const, uri: 'rtmp://127.0.0.1/app/stream' };

function plan(resolutions: string[], piped: boolean): CommandPlan {
  const rungs = resolutions.filter((r) => r !== 'ORIGINAL').map((r) => {
    const [size, fps] = r.split('-');
    const [width, height] = size!.split('x').map(Number);
    return { width: width!, height: height!, fps: Number(fps), kbps: -1 };
  });
  const renditions = selectLadder(info, { original: resolutions.includes('ORIGINAL'), rungs }, { originalMode: 'copy' });
  return {
    source, info, previews: null, options,
    renditions: renditions.map((r, i) => ({ rendition: r, level: 30, target: piped ? { kind: 'flv-pipe' as const, fd: 3 + i } : { kind: 'segments' as const, dir: `/s/r${i}`, startNumber: 0 } })),
  };
}

/** The arguments of each output, split after each output target. */
function outputs(args: string[]): string[][] {
  const start = args.indexOf('-i') + 2;
  const out: string[][] = [];
  let current: string[] = [];
  for (const a of args.slice(start)) {
    current.push(a);
    if (/^pipe:\d$|\.ts$/.test(a)) {
      out.push(current);
      current = [];
    }
  }
  return out;
}

describe('ffmpeg command: outputs (segments or FLV pipes) and keyframes', () => {
  it('fmp4: every rendition is FLV on its own pipe (pipe:3, pipe:4, …), no segment muxer', () => {
    const outs = outputs(buildFfmpegArgs(plan(['ORIGINAL', '320x180-15'], true)));
    expect(outs.map((o) => o.at(-1))).to.deep.equal(['pipe:3', 'pipe:4']);
    for (const o of outs) expect(o.join(' ')).to.contain('-f flv -flvflags no_duration_filesize').and.not.contain('segment');
  });

  it('encoded rungs beside an ORIGINAL copy rung take the source\'s keyframes (no scene-cut keyframes); alone, multiples of HLS_TIME', () => {
    const [copy, encoded] = outputs(buildFfmpegArgs(plan(['ORIGINAL', '320x180-15'], true)));
    expect(copy!.join(' ')).to.contain('-c:v copy').and.not.contain('force_key_frames');
    expect(encoded!.join(' ')).to.contain('-force_key_frames source -sc_threshold 0 -g 100000');
    for (const o of outputs(buildFfmpegArgs(plan(['320x180-15', '160x90-15'], true)))) expect(o.join(' ')).to.contain('-force_key_frames expr:gte(t,n_forced*2)').and.not.contain('sc_threshold');
  });

  it('mpegts: unchanged — segment muxer per rendition, keyframes at multiples of HLS_TIME even beside a copy rung', () => {
    const outs = outputs(buildFfmpegArgs(plan(['ORIGINAL', '320x180-15'], false)));
    expect(outs.map((o) => o.at(-1))).to.deep.equal(['/s/r0/%d.ts', '/s/r1/%d.ts']);
    expect(outs[1]!.join(' ')).to.contain('-force_key_frames expr:gte(t,n_forced*2)').and.contain('-f segment');
  });

  it('x264 on LL rungs (FLV pipes): -tune zerolatency (no B-frames, no lookahead); MPEG-TS rungs keep B-frames without lookahead', () => {
    const [ll] = outputs(buildFfmpegArgs(plan(['320x180-15'], true)));
    expect(ll!.join(' ')).to.contain('-preset veryfast -profile:v high -level:v 3.0 -tune zerolatency').and.not.contain('x264-params');
    const [ts] = outputs(buildFfmpegArgs(plan(['320x180-15'], false)));
    expect(ts!.join(' ')).to.contain('-x264-params rc-lookahead=0:sync-lookahead=0').and.not.contain('zerolatency');
  });

  it('a lower-rate rung beside a copy rung keeps every source keyframe at its time, at the rung\'s rate (real ffmpeg)', () => {
    const [, encoded] = outputs(buildFfmpegArgs(plan(['ORIGINAL', '320x180-15'], true)));
    expect(encoded!.join(' ')).to.contain(`-vf ${keyframeKeepingRate(15, 30)},scale=320:180`);
    const [alone] = outputs(buildFfmpegArgs(plan(['320x180-15'], true)));
    expect(alone!.join(' ')).to.contain('-vf fps=15,scale=320:180');
    // 30 fps, a keyframe every 45 frames (1.5 s): every other one falls between 15 fps slots.
    const dir = tempDir('kf-rate');
    try {
      const source = makeFlv(dir, { seconds: 6, fps: 30, gop: 45, bframes: 0, audio: false });
      const keyframes = (file: string) => flvEvents(file).flatMap((e) => (e.type === 'unit' && e.unit.keyframe ? [e.unit.dts] : []));
      const frames = (file: string) => flvEvents(file).filter((e) => e.type === 'unit' && e.unit.track === 'video').length;
      for (const fps of [15, 20]) {
        const out = path.join(dir, `out-${fps}.flv`);
        execFileSync(ffmpegPath, ['-v', 'error', '-y', '-i', source, '-vf', keyframeKeepingRate(fps, 30), '-c:v', 'libx264', '-preset', 'ultrafast', '-force_key_frames', 'source', '-sc_threshold', '0', '-g', '100000', '-f', 'flv', out]);
        expect(keyframes(out), `${fps} fps`).to.deep.equal(keyframes(source));
        expect(frames(out), `${fps} fps`).to.be.within(6 * fps, 6 * fps + keyframes(source).length);
      }
      // What the fps filter does instead: a keyframe lost.
      const fpsOut = path.join(dir, 'out-fps.flv');
      execFileSync(ffmpegPath, ['-v', 'error', '-y', '-i', source, '-vf', 'fps=15', '-c:v', 'libx264', '-preset', 'ultrafast', '-force_key_frames', 'source', '-sc_threshold', '0', '-g', '100000', '-f', 'flv', fpsOut]);
      expect(keyframes(fpsOut)).to.not.deep.equal(keyframes(source));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
