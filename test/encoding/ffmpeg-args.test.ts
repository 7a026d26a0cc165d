import { expect } from 'chai';
import { buildFfmpegArgs, type CommandPlan, type EncodingOptions } from '../../src/encoding/ffmpeg-args';
import { selectLadder, type SourceInfo } from '../../src/encoding/ladder';

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
});
