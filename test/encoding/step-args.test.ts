import { expect } from 'chai';
import type { MediaStep } from '../../src/domain/jobs';
import { stderrSummary } from '../../src/encoding/ffmpeg-console';
import {
  buildStepArgs, codecsForContainer, codecsForSource, COPY_CODECS, hlsOutputArgs, inputOpenFailed, pullOutputArgs,
  pushOutputArgs, sniffContainer, stepInput, stepInputArgs, transcodeArgs, validateStep, watchOutputArgs,
} from '../../src/encoding/step-args';

const hls = (over: Partial<Extract<MediaStep, { type: 'ffmpeg_hls' }>> = {}): Extract<MediaStep, { type: 'ffmpeg_hls' }> =>
  ({ type: 'ffmpeg_hls', directory: '/out/hls', name: 'cam', durationSeconds: 2, count: 5, ...over });
const transcode = (over: Partial<Extract<MediaStep, { type: 'ffmpeg_transcode' }>> = {}): Extract<MediaStep, { type: 'ffmpeg_transcode' }> =>
  ({ type: 'ffmpeg_transcode', vcodec: 'h264', acodec: 'aac', preset: 'ultrafast', size: null, kbps: null, output: 'rtmp://127.0.0.1/t/s', ...over });

describe('step-args (pure)', () => {
  it('classifies inputs: rtmp, ws, and any location for ffmpeg_pull', () => {
    const push: MediaStep = { type: 'ffmpeg_push', target: 'rtmp://x/y' };
    expect(stepInput({ input: 'rtmp://127.0.0.1:1935/live/k', step: push })).to.deep.equal({ kind: 'rtmp', url: 'rtmp://127.0.0.1:1935/live/k' });
    expect(stepInput({ input: 'ws://127.0.0.1:8080/ch/k', step: push })).to.deep.equal({ kind: 'ws', uri: 'ws://127.0.0.1:8080/ch/k' });
    expect(stepInput({ input: '/media/a.mp4', step: { type: 'ffmpeg_pull', output: 'rtmp://o/p' } })).to.deep.equal({ kind: 'location', location: '/media/a.mp4' });
    expect(() => stepInput({ input: '/media/a.mp4', step: push })).to.throw(/unsupported step input/);
    expect(() => stepInput({ input: ' ', step: push })).to.throw(/no input/);
  });

  it('input args: RTMP with a 5 s read timeout, WS on stdin, pull in real time', () => {
    expect(stepInputArgs({ kind: 'rtmp', url: 'rtmp://h/a/k' })).to.deep.equal(['-nostdin', '-rw_timeout', '5000000', '-i', 'rtmp://h/a/k']);
    expect(stepInputArgs({ kind: 'ws', uri: 'ws://h/c/k' })).to.deep.equal(['-i', 'pipe:0']);
    expect(stepInputArgs({ kind: 'location', location: '/a.mp4' })).to.deep.equal(['-nostdin', '-re', '-i', '/a.mp4']);
    expect(stepInputArgs({ kind: 'location', location: 'https://cdn/x.m3u8' })).to.deep.equal(['-nostdin', '-re', '-rw_timeout', '5000000', '-i', 'https://cdn/x.m3u8']);
  });

  it('ffmpeg_hls: sliding window deletes old segments; count 0 keeps all (EVENT); restart appends', () => {
    expect(hlsOutputArgs(hls(), false)).to.deep.equal([
      '-f', 'hls', '-hls_time', '2', '-hls_list_size', '5', '-hls_flags', 'delete_segments',
      '-hls_segment_filename', '/out/hls/cam-%d.ts', '/out/hls/cam.m3u8',
    ]);
    expect(hlsOutputArgs(hls({ count: 0 }), false)).to.deep.equal([
      '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', '-hls_playlist_type', 'event',
      '-hls_segment_filename', '/out/hls/cam-%d.ts', '/out/hls/cam.m3u8',
    ]);
    expect(hlsOutputArgs(hls({ count: 3 }), true)).to.include.members(['delete_segments+append_list']);
    expect(hlsOutputArgs(hls({ count: 0 }), true)).to.include.members(['-hls_flags', 'append_list']);
    // A % in the name must not become a format directive of the segment pattern.
    expect(hlsOutputArgs(hls({ name: '100%live' }), false)).to.include.members(['/out/hls/100%%live-%d.ts', '/out/hls/100%live.m3u8']);
  });

  it('push / watch / pull: FLV to the URL', () => {
    const flv = (url: string) => ['-f', 'flv', '-flvflags', 'no_duration_filesize', url];
    expect(pushOutputArgs({ type: 'ffmpeg_push', target: 'rtmp://a.example/live/sk' })).to.deep.equal(flv('rtmp://a.example/live/sk'));
    expect(watchOutputArgs({ type: 'rtmp_watch', output: 'rtmp://127.0.0.1/w/s' })).to.deep.equal(flv('rtmp://127.0.0.1/w/s'));
    expect(pullOutputArgs({ type: 'ffmpeg_pull', output: 'rtmp://127.0.0.1/p/s' })).to.deep.equal(flv('rtmp://127.0.0.1/p/s'));
  });

  it('ffmpeg_transcode: x264 with preset, bitrate cap, scale; copy ignores size and bitrate', () => {
    expect(transcodeArgs(transcode({ size: { width: 640, height: 360 }, kbps: 800 }))).to.deep.equal([
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-force_key_frames', 'expr:gte(t,n_forced*2)',
      '-b:v', '800k', '-maxrate', '800k', '-bufsize', '1600k', '-vf', 'scale=640:360',
      '-c:a', 'aac', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'rtmp://127.0.0.1/t/s',
    ]);
    expect(transcodeArgs(transcode({ vcodec: 'copy', acodec: 'copy', size: { width: 640, height: 360 }, kbps: 800 }))).to.deep.equal([
      '-c:v', 'copy', '-c:a', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'rtmp://127.0.0.1/t/s',
    ]);
  });

  it('whole command lines', () => {
    expect(buildStepArgs({ input: { kind: 'rtmp', url: 'rtmp://i/a/k' }, step: { type: 'ffmpeg_push', target: 'rtmp://t/a/k' }, codecs: COPY_CODECS, appendHls: false }).join(' '))
      .to.equal('-hide_banner -nostats -loglevel warning -progress pipe:1 -y -nostdin -rw_timeout 5000000 -i rtmp://i/a/k -c:v copy -c:a copy -f flv -flvflags no_duration_filesize rtmp://t/a/k');
    expect(buildStepArgs({ input: { kind: 'ws', uri: 'ws://h/c/k' }, step: hls(), codecs: codecsForContainer('webm'), appendHls: false }).join(' '))
      .to.equal('-hide_banner -nostats -loglevel warning -progress pipe:1 -y -i pipe:0 -c:v libx264 -preset veryfast -pix_fmt yuv420p -force_key_frames expr:gte(t,n_forced*2) -c:a aac -f hls -hls_time 2 -hls_list_size 5 -hls_flags delete_segments -hls_segment_filename /out/hls/cam-%d.ts /out/hls/cam.m3u8');
    // ffmpeg_transcode ignores the copy plan: it says what it wants.
    expect(buildStepArgs({ input: { kind: 'rtmp', url: 'rtmp://i/a/k' }, step: transcode(), codecs: COPY_CODECS, appendHls: false })).to.include.members(['libx264', 'aac']);
  });

  it('codec plans: FLV copied, WebM encoded; pull copies H.264/AAC and encodes the rest', () => {
    expect(sniffContainer(Buffer.from('FLV\x01\x05\0\0\0\x09', 'latin1'))).to.equal('flv');
    expect(sniffContainer(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))).to.equal('webm');
    expect(sniffContainer(Buffer.from([0x47, 0x40]))).to.equal('unknown');
    expect(sniffContainer(null)).to.equal('unknown');
    expect(codecsForContainer('flv')).to.deep.equal(COPY_CODECS);
    expect(codecsForContainer('unknown')).to.deep.equal(COPY_CODECS);
    expect(codecsForContainer('webm')).to.deep.include({ video: 'h264', audio: 'aac' });
    expect(codecsForSource({ videoCodec: 'h264', audioCodec: 'aac' })).to.deep.include({ video: 'copy', audio: 'copy' });
    expect(codecsForSource({ videoCodec: 'h264', audioCodec: null })).to.deep.include({ video: 'copy', audio: 'copy' });
    expect(codecsForSource({ videoCodec: 'vp8', audioCodec: 'opus' })).to.deep.include({ video: 'h264', audio: 'aac' });
    expect(codecsForSource({ videoCodec: 'hevc', audioCodec: 'aac' })).to.deep.include({ video: 'h264', audio: 'copy' });
  });

  it('validates steps before anything runs', () => {
    expect(() => validateStep(hls({ directory: 'rel/dir' }))).to.throw(/not absolute/);
    expect(() => validateStep(hls({ name: '../x' }))).to.throw(/invalid playlist name/);
    expect(() => validateStep(hls({ name: '.hidden' }))).to.throw(/invalid playlist name/);
    expect(() => validateStep(hls({ durationSeconds: 0 }))).to.throw(/duration/);
    expect(() => validateStep(hls({ count: -1 }))).to.throw(/count/);
    expect(() => validateStep({ type: 'ffmpeg_push', target: '' })).to.throw(/no target/);
    expect(() => validateStep(transcode({ size: { width: 0, height: 90 } }))).to.throw(/size/);
    expect(() => validateStep(hls())).not.to.throw();
  });

  it('failure messages: the last meaningful stderr lines; input-open failures recognised by the input name', () => {
    const tail = '[hls @ 0x1] Cannot use rename on non file protocol, this may lead to races\n[tcp @ 0x2] Connection to tcp://127.0.0.1:9 failed: Connection refused\nrtmp://127.0.0.1:9/app/k: Connection refused\n';
    expect(stderrSummary(tail)).to.equal('[tcp @ 0x2] Connection to tcp://127.0.0.1:9 failed: Connection refused | rtmp://127.0.0.1:9/app/k: Connection refused');
    expect(stderrSummary(tail, 1)).to.equal('rtmp://127.0.0.1:9/app/k: Connection refused');
    expect(inputOpenFailed(tail, { kind: 'rtmp', url: 'rtmp://127.0.0.1:9/app/k' })).to.equal(true);
    expect(inputOpenFailed(tail, { kind: 'rtmp', url: 'rtmp://127.0.0.1:1935/live/k' })).to.equal(false); // the output failed
    expect(inputOpenFailed('/no/such.mp4: No such file or directory\n', { kind: 'location', location: '/no/such.mp4' })).to.equal(true);
  });
});
