/**
 * The nginx-rtmp baseline of the latency bench: Debian's `nginx` + `libnginx-mod-rtmp`, started
 * in the foreground with `bench/nginx-rtmp.conf.template` in a scratch folder (peers.md §2.2).
 * `findNginx()` says why it cannot run (not installed) instead of throwing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
export const NGINX_INSTALL_HINT =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx libnginx-mod-rtmp';

/** The nginx binary, or the reason the baseline cannot run. */
export function findNginx(): { ok: true; bin: string; version: string } | { ok: false; reason: string } {
  const bin = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => fs.existsSync(p));
  if (!bin) return { ok: false, reason: `nginx is not installed (install it with: ${NGINX_INSTALL_HINT})` };
  if (!fs.existsSync(NGINX_RTMP_MODULE)) return { ok: false, reason: `${NGINX_RTMP_MODULE} is missing (install it with: ${NGINX_INSTALL_HINT})` };
  const v = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return { ok: true, bin, version: (v.stderr || v.stdout).trim() };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class NginxRtmp {
  readonly dir: string;
  readonly hlsDir: string;
  rtmpPort = 0;
  private proc: ChildProcess | null = null;

  constructor(private readonly bin: string, private readonly hlsFragmentSeconds: number) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-nginx-rtmp-'));
    this.hlsDir = path.join(this.dir, 'hls');
  }

  async start(): Promise<void> {
    this.rtmpPort = await freePort();
    fs.mkdirSync(this.hlsDir, { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'logs'), { recursive: true });
    fs.chmodSync(this.dir, 0o755);
    fs.chmodSync(this.hlsDir, 0o777); // root master → workers as nobody
    const template = fs.readFileSync(path.join(__dirname, '..', '..', 'bench', 'nginx-rtmp.conf.template'), 'utf8');
    const conf = template
      .replaceAll('{{W}}', this.dir)
      .replaceAll('{{RTMP_PORT}}', String(this.rtmpPort))
      .replaceAll('{{HLS_FRAGMENT}}', `${this.hlsFragmentSeconds}s`);
    const confFile = path.join(this.dir, 'nginx.conf');
    fs.writeFileSync(confFile, conf);
    const args = ['-c', confFile, '-p', `${this.dir}/`, '-e', path.join(this.dir, 'logs', 'error.log')];
    const test = spawnSync(this.bin, ['-t', ...args], { encoding: 'utf8' });
    if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    // Ready once the RTMP port accepts connections.
    const deadline = Date.now() + 5000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`nginx exited at start: ${stderr}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ port: this.rtmpPort, host: '127.0.0.1' }, () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${this.rtmpPort}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The master process id (its workers are its children), or 0 before `start()`. */
  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  playlist(name: string): string {
    return path.join(this.hlsDir, `${name}.m3u8`);
  }

  /** Graceful stop (SIGQUIT to the master), then removes the scratch folder. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGQUIT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
