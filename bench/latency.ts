/**
 * Publish-to-available latency: castline (ORIGINAL copy, and one encoded rung) against the
 * nginx-rtmp baseline, same publisher, same machine, same run (modes interleaved run by run).
 *
 * Interval measured, per run:
 *  - start (both servers): the first byte the publisher sends on its RTMP TCP connection (the
 *    handshake's C0+C1), timestamped by a pass-through TCP proxy in this process
 *    (bench/latency-proxy.ts) that sits in front of the server's RTMP port;
 *  - end, castline: the `stream-available` event with `X-Stream-Type: HLS-LIVE` arriving at the
 *    application (test/helpers/app-server.ts records `at` when the POST body has been read);
 *  - end, nginx-rtmp: the first time `{hls_path}/{name}.m3u8` lists a segment (`#EXTINF`),
 *    polled every 10 ms (nginx-rtmp has no callback for this).
 * For comparison castline's first `live.m3u8` on disk is also reported (same 10 ms polling), and for
 * every castline mode (HLS_SEGMENT_FORMAT=fmp4, the default: passthrough and encoded rungs alike) when its LL-HLS playlist
 * first lists a part (`firstPart`): the first moment a low-latency player can start.
 * Floor: the same proxy reads the publisher's RTMP messages (bench/latency-rtmp-tap.ts) and notes
 * when the second keyframe (source t = 2 s, the one that closes the first 2 s segment) had fully
 * arrived; no server can list a first segment before that. "Above floor" = latency − floor.
 *
 * Publisher (every mode): bundled ffmpeg 4.1, `-re`, lavfi testsrc2 1280x720 at 30 fps + a sine,
 * libx264 veryfast, 2500 kbit/s CBR-ish, `-g 60` (2 s GOP, OBS's default keyframe interval), AAC
 * 128k 48 kHz, FLV over RTMP. It is stopped (SIGINT) once the end point was seen.
 * Castline: started in-process (test/helpers/castline.ts) with HLS_TIME_SECONDS=2 and the default
 * ladder settings (veryfast, ORIGINAL copy); the app's key verification answers nothing for
 * `copy` (DEFAULT_RESOLUTIONS=ORIGINAL applies) and `x-resolutions: 640x360-30` for `encoded`.
 * nginx-rtmp: Debian nginx + libnginx-mod-rtmp, `hls_fragment 2s` (bench/nginx-rtmp.conf.template).
 *
 * Percentiles: linear interpolation between order statistics (numpy's default); with 10 runs
 * p95 lies between the 9th and the 10th value.
 *
 * Run: npx tsc -p tsconfig.test.json && node dist-test/bench/latency.js [--runs 10] [--modes copy,encoded,nginx] [--format fmp4|mpegts]
 * (`--format mpegts`: castline on the classic path, ffmpeg's segment muxer — the path before castline packaged encoded rungs)
 * Re-print the tables of saved output: node dist-test/bench/latency.js --summarize FILE
 * nginx part: needs `apt-get install -y --no-install-recommends nginx libnginx-mod-rtmp` (skipped with a message otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { ffmpegPath } from '../src/encoding/binaries';
import { AppServer } from '../test/helpers/app-server';
import { startTestCastline, type TestCastline } from '../test/helpers/castline';
import { findNginx, NginxRtmp } from './latency-nginx';
import { FirstByteProxy } from './latency-proxy';
import { CastlineTimeline, playlistWithSegment, type Milestone } from './latency-timeline';

type Mode = 'copy' | 'encoded' | 'nginx';
const HLS_TIME_SECONDS = 2;
const ENCODED_RUNG = '640x360-30';
const TIMEOUT_MS = 20_000;
/** castline's HLS_SEGMENT_FORMAT for this run (`--format`). */
const FORMAT = (() => { const i = process.argv.indexOf('--format'); return i >= 0 ? process.argv[i + 1]! : 'fmp4'; })();

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export const PUBLISHER_ARGS = (url: string): string[] => [
  '-hide_banner', '-loglevel', 'error', '-re',
  '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
  '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  '-t', '12',
  '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p',
  '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k',
  '-c:a', 'aac', '-b:a', '128k', '-ar', '48000',
  '-f', 'flv', url,
];

function startPublisher(url: string): { proc: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const proc = spawn(ffmpegPath, PUBLISHER_ARGS(url), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => { if (err.length < 10_000) err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, exited, stderr: () => err };
}

async function stopPublisher(p: ReturnType<typeof startPublisher>): Promise<void> {
  p.proc.kill('SIGINT');
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
  await p.exited;
  clearTimeout(timer);
}

async function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface RunResult {
  mode: Mode;
  run: number;
  /** Milliseconds from the first byte to the end point of the mode. */
  latencyMs: number;
  /** Milliseconds from the first byte to each milestone seen (castline). */
  phases: Record<string, number>;
}

async function castlineRun(castline: TestCastline, app: AppServer, proxy: FirstByteProxy, mode: Exclude<Mode, 'nginx'>, run: number): Promise<RunResult> {
  const ch = `lat-${mode}-${run}`;
  app.settings = mode === 'copy' ? {} : { 'x-resolutions': ENCODED_RUNG };
  const connection = proxy.firstBytes.length;
  const timeline = new CastlineTimeline(castline.dataDir, ch);
  const firstPart = FORMAT === 'mpegts' ? null : firstPlayablePart(castline, ch);
  const pub = startPublisher(`rtmp://127.0.0.1:${proxy.port}/${ch}/good-${run}`);
  try {
    const t0 = await proxy.firstByte(connection);
    const eventOf = (type: string, extra?: (h: Record<string, unknown>) => boolean) =>
      app.eventAttempts.find((e) => e.headers['x-streaming-channel'] === ch && e.headers['x-event-type'] === type && (extra?.(e.headers) ?? true));
    const live = await waitFor(() => eventOf('stream-available', (h) => h['x-stream-type'] === 'HLS-LIVE'), `${ch} HLS-LIVE stream-available`);
    await new Promise((r) => setTimeout(r, 30)); // let the timeline poller catch up
    timeline.stop();
    const verified = app.verifications.find((v) => v.headers['x-streaming-channel'] === ch);
    const phases: Record<string, number> = {};
    if (verified) phases.verified = verified.at - t0;
    for (const [m, at] of Object.entries(timeline.at) as Array<[Milestone, number]>) phases[m] = at - t0;
    phases.callback = live.at - t0;
    const partAt = await firstPart?.catch(() => undefined);
    if (partAt !== undefined) phases.firstPart = partAt - t0;
    Object.assign(phases, floorPhases(proxy, connection, t0));
    await stopPublisher(pub);
    await waitFor(() => eventOf('stream-closed'), `${ch} stream-closed`, 30_000);
    return { mode, run, latencyMs: live.at - t0, phases };
  } catch (err) {
    timeline.stop();
    await stopPublisher(pub);
    throw new Error(`${(err as Error).message}; publisher: ${pub.stderr().trim().slice(-300)}`);
  }
}

/**
 * When the LL-HLS playlist of a passthrough stream first lists a part: as soon as the stream's
 * rendition folder exists (init.mp4 written at the first keyframe), a plain `live.m3u8` request to
 * castline is held until part 0 exists (`src/api/ll-hls.ts`); the time its answer arrives.
 */
async function firstPlayablePart(castline: TestCastline, ch: string): Promise<number> {
  const root = `${castline.dataDir}/hls/${ch}`;
  const rendition = await waitFor(() => {
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      for (const r of fs.readdirSync(`${root}/${id}`)) if (fs.existsSync(`${root}/${id}/${r}/init.mp4`)) return `${id}/${r}`;
    }
    return undefined;
  }, `${ch} init.mp4`);
  // A blocking reload for the first part: answered the moment it exists (retried while the
  // stream is not yet in memory, e.g. an encoded rung whose init is on disk a moment earlier).
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${castline.httpPort}/hls/${ch}/${rendition}/live.m3u8?_HLS_msn=0&_HLS_part=0`);
    const text = await res.text();
    if (res.status === 200 && text.includes('#EXT-X-PART:')) return Date.now();
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function nginxRun(nginx: NginxRtmp, proxy: FirstByteProxy, run: number): Promise<RunResult> {
  const name = `lat-nginx-${run}`;
  const connection = proxy.firstBytes.length;
  const playlist = playlistWithSegment(nginx.playlist(name), TIMEOUT_MS);
  const pub = startPublisher(`rtmp://127.0.0.1:${proxy.port}/live/${name}`);
  try {
    const t0 = await proxy.firstByte(connection);
    const at = await playlist;
    await stopPublisher(pub);
    return { mode: 'nginx', run, latencyMs: at - t0, phases: { playlist: at - t0, ...floorPhases(proxy, connection, t0) } };
  } catch (err) {
    await stopPublisher(pub);
    throw new Error(`${(err as Error).message}; publisher: ${pub.stderr().trim().slice(-300)}`);
  }
}

/** When the publisher's first and second keyframes had fully reached the server (ms after the first byte). */
function floorPhases(proxy: FirstByteProxy, connection: number, t0: number): Record<string, number> {
  const k = proxy.taps[connection]?.keyframes ?? [];
  const out: Record<string, number> = {};
  if (k[0]) out.keyframe1 = k[0].at - t0;
  if (k[1]) out.keyframe2 = k[1].at - t0;
  return out;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '—');

async function main(): Promise<void> {
  const saved = arg('summarize', '');
  if (saved !== '') {
    const results = fs.readFileSync(saved, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as RunResult);
    summarize(results, [...new Set(results.map((r) => r.mode))]);
    return;
  }
  const runs = Number(arg('runs', '10'));
  let modes = arg('modes', 'copy,encoded,nginx').split(',').map((m) => m.trim()) as Mode[];
  const nginxFound = findNginx();
  if (modes.includes('nginx') && !nginxFound.ok) {
    console.log(`# nginx-rtmp baseline skipped: ${nginxFound.reason}`);
    modes = modes.filter((m) => m !== 'nginx');
  }
  const app = await new AppServer().start();
  const env = {
    KEY_VERIFICATION_URL: `${app.url}/verify`,
    EVENT_CALLBACK_URL: `${app.url}/events`,
    HLS_TIME_SECONDS: String(HLS_TIME_SECONDS),
    HLS_LIVE_PLAYLIST_SIZE: '6',
    HLS_H264_PRESET: 'veryfast', // castline's default (the test helper sets ultrafast)
  };
  // One castline per process (node-media-server's state is process-wide): `--format mpegts` runs
  // the classic path (ffmpeg's segment muxer) for a before/after; alternate processes to compare.
  const castline = await startTestCastline({ ...env, HLS_SEGMENT_FORMAT: FORMAT });
  const castlineProxy = await new FirstByteProxy(castline.rtmpPort).start();
  let nginx: NginxRtmp | null = null;
  let nginxProxy: FirstByteProxy | null = null;
  if (modes.includes('nginx') && nginxFound.ok) {
    nginx = new NginxRtmp(nginxFound.bin, HLS_TIME_SECONDS);
    await nginx.start();
    nginxProxy = await new FirstByteProxy(nginx.rtmpPort).start();
  }
  console.log(`# castline latency bench: ${runs} runs x modes ${modes.join(',')}; HLS_TIME_SECONDS=${HLS_TIME_SECONDS}; ${nginxFound.ok ? nginxFound.version : 'no nginx'}`);
  console.log(`# publisher: ffmpeg ${PUBLISHER_ARGS('rtmp://…').join(' ')}`);
  const results: RunResult[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      for (const mode of modes) {
        const r = mode === 'nginx' ? await nginxRun(nginx!, nginxProxy!, run) : await castlineRun(castline, app, castlineProxy, mode, run);
        results.push(r);
        console.log(JSON.stringify(r));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  } finally {
    await castlineProxy.close();
    await castline.dispose();
    await app.stop();
    await nginxProxy?.close();
    await nginx?.stop();
  }

  summarize(results, modes);
}

/** Prints the tables for a set of run results (also usable on saved JSON lines: --summarize FILE). */
export function summarize(results: RunResult[], modes: Mode[]): void {
  const label: Record<Mode, string> = {
    copy: 'castline, ORIGINAL copy (default ladder) → HLS-LIVE callback',
    encoded: `castline, encoded rung x-resolutions: ${ENCODED_RUNG} → HLS-LIVE callback`,
    nginx: `nginx-rtmp hls_fragment ${HLS_TIME_SECONDS}s → first playlist with 1 segment`,
  };
  console.log('');
  const pick = (rs: RunResult[], f: (r: RunResult) => number | undefined) => rs.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const p50p95 = (v: number[]) => `${sec(percentile(v, 0.5))} | ${sec(percentile(v, 0.95))}`;
  console.log('| server / mode | runs | p50 (s) | p95 (s) | max (s) | from 1st keyframe in: p50 | p95 | floor = 2nd keyframe in: p50 | above floor: p50 | p95 |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode);
    const l = rs.map((r) => r.latencyMs);
    const fromKey = pick(rs, (r) => (r.phases.keyframe1 === undefined ? undefined : r.latencyMs - r.phases.keyframe1));
    const floor = pick(rs, (r) => r.phases.keyframe2);
    const above = pick(rs, (r) => (r.phases.keyframe2 === undefined ? undefined : r.latencyMs - r.phases.keyframe2));
    console.log(`| ${label[mode]} | ${rs.length} | ${p50p95(l)} | ${sec(Math.max(...l))} | ${p50p95(fromKey)} | ${sec(percentile(floor, 0.5))} | ${p50p95(above)} |`);
  }
  const phaseNames = ['keyframe1', 'keyframe2', 'verified', 'probeSpawn', 'encoderSpawn', 'stagedTs', 'segmentListed', 'playlist', 'firstPart', 'callback'];
  console.log('');
  console.log('');
  console.log('Phases (p50, seconds after the first byte): keyframe1/2 = publisher keyframes fully received; verified = key');
  console.log('verification at the app; probeSpawn/encoderSpawn = castline ffmpeg processes seen; stagedTs = first segment file');
  console.log('opened in staging; segmentListed = first segment complete (list.csv); playlist = live.m3u8 on disk; firstPart = the LL-HLS');
  console.log('playlist (passthrough, fmp4) lists its first part; callback = HLS-LIVE event at the app.');
  console.log(`| mode | ${phaseNames.join(' | ')} |`);
  console.log(`|---|${phaseNames.map(() => '---').join('|')}|`);
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode);
    const cells = phaseNames.map((p) => sec(percentile(rs.map((r) => r.phases[p]).filter((v): v is number => v !== undefined), 0.5)));
    console.log(`| ${mode} | ${cells.join(' | ')} |`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
