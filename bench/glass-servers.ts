/**
 * The servers the glass-to-glass bench publishes to and plays from, behind one shape:
 *  - castline as a user runs it (a child process on the compiled main.js, its own data folder, no
 *    key verification: `DEFAULT_RESOLUTIONS` decides the rungs), played from its own HTTP port
 *    (`/hls/{channel}/{streamId}/master.m3u8`, LL-HLS from memory when the stream is packaged);
 *  - nginx-rtmp (bench/latency-nginx.ts), its HLS folder served by the bench's page server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../test/helpers/process';
import { NginxRtmp } from './latency-nginx';

export interface GlassServer {
  rtmpPort: number;
  /** The RTMP path (app/name) to publish `name` to. */
  publishPath(name: string): string;
  /** The playlist URL a viewer opens for `name`, once it exists (undefined before). */
  playlistUrl(name: string): string | undefined;
  stop(): Promise<void>;
}

export async function startCastlineProcess(dir: string, env: Record<string, string>): Promise<GlassServer> {
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const main = path.resolve(__dirname, '../src/main.js');
  const child: ChildProcess = spawn(process.execPath, [main], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '', RTMP_PORT: String(rtmpPort), HTTP_PORT: String(httpPort), BIND_ADDRESS: '127.0.0.1',
      ENCODER_CAPACITY: '-1', LOG_LEVEL: 'warn', STUDIO_ENABLED: 'false', HLS_TIME_SECONDS: '2', ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 15_000;
  while ((await fetch(`http://127.0.0.1:${httpPort}/livez`).catch(() => null))?.status !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('castline did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const hls = path.join(dir, 'data', 'hls');
  return {
    rtmpPort,
    publishPath: (name) => `${name}/good-key`,
    playlistUrl: (name) => {
      const channel = path.join(hls, name);
      if (!fs.existsSync(channel)) return undefined;
      const id = fs.readdirSync(channel).find((s) => fs.existsSync(path.join(channel, s, 'master.m3u8')));
      return id === undefined ? undefined : `http://127.0.0.1:${httpPort}/hls/${name}/${id}/master.m3u8`;
    },
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** nginx-rtmp with 2 s fragments; `filesUrl` is where the page server serves its HLS folder. */
export async function startNginxServer(bin: string, filesUrl: string, serveFolder: (dir: string) => void): Promise<GlassServer> {
  const nginx = new NginxRtmp(bin, 2);
  await nginx.start();
  serveFolder(nginx.hlsDir);
  return {
    rtmpPort: nginx.rtmpPort,
    publishPath: (name) => `live/${name}`,
    playlistUrl: (name) => (fs.existsSync(nginx.playlist(name)) && fs.readFileSync(nginx.playlist(name), 'utf8').includes('#EXTINF') ? `${filesUrl}${name}.m3u8` : undefined),
    stop: () => nginx.stop(),
  };
}
