/**
 * The server as a user runs it: `node dist/main.js`-equivalent process, start-up lines, a bad
 * configuration, a port in use, graceful shutdown on SIGTERM and SIGINT.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startProcess, type ServerProcess } from './helpers/process';
import { waitUntil } from './helpers/wait';

describe('castline process', function () {
  this.timeout(30_000);
  let cwd: string;
  let proc: ServerProcess | null = null;
  beforeEach(() => { cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-main-')); });
  afterEach(async () => {
    if (proc && proc.child.exitCode === null) { proc.child.kill('SIGKILL'); await proc.exited; }
    proc = null;
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('starts with embedded defaults, prints one line per listener and the uWS build, answers, and stops on SIGTERM with exit 0', async () => {
    const [http, rtmp] = [await freePort(), await freePort()];
    proc = startProcess(cwd, { HTTP_PORT: String(http), RTMP_PORT: String(rtmp), BIND_ADDRESS: '127.0.0.1' });
    const p = proc;
    await waitUntil(() => p.lines().some((l) => l.msg === 'RTMP listening'), 'start-up lines', 15_000);
    const httpLine = p.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('HTTP listening'))!;
    expect(httpLine.url).to.equal(`http://127.0.0.1:${http}`);
    expect(httpLine.uws).to.match(/^native/);
    expect(p.lines().find((l) => l.msg === 'RTMP listening')!.url).to.equal(`rtmp://127.0.0.1:${rtmp}/{channel}/{key}`);
    const health = await (await fetch(`http://127.0.0.1:${http}/`, { headers: { connection: 'close' } })).json() as Record<string, unknown>;
    expect(health).to.include({ name: 'castline', status: 'ok' });
    expect(fs.existsSync(path.join(cwd, 'data'))).to.equal(true);
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    expect(await p.exited).to.equal(0);
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('a SIGTERM during start-up still ends with a graceful stop and exit 0', async () => {
    proc = startProcess(cwd, { HTTP_PORT: String(await freePort()), RTMP_PORT: String(await freePort()), BIND_ADDRESS: '127.0.0.1' });
    const p = proc;
    await waitUntil(() => p.output().length > 0, 'first output', 15_000);
    p.child.kill('SIGTERM');
    expect(await p.exited).to.equal(0);
  });

  it('SIGINT also stops it gracefully', async () => {
    proc = startProcess(cwd, { HTTP_PORT: String(await freePort()), RTMP_PORT: String(await freePort()), BIND_ADDRESS: '127.0.0.1' });
    const p = proc;
    await waitUntil(() => p.lines().some((l) => l.msg === 'RTMP listening'), 'start-up', 15_000);
    p.child.kill('SIGINT');
    expect(await p.exited).to.equal(0);
  });

  it('an invalid variable stops start-up with exit 2 and a message naming it and the accepted values — no stack trace', async () => {
    proc = startProcess(cwd, { HTTP_PORT: 'eighty', COMMANDS_API_AUTH: 'Digest', DEFAULT_RESOLUTIONS: '1280x720,bogus' });
    expect(await proc.exited).to.equal(2);
    const out = proc.output();
    expect(out).to.include('HTTP_PORT="eighty" must be a whole number from 0 to 65535');
    expect(out).to.include('COMMANDS_API_AUTH="Digest" must be one of Basic, Bearer');
    expect(out).not.to.match(/\n\s+at /);
  });

  it('a bad DEFAULT_RESOLUTIONS is refused at start-up naming the variable', async () => {
    proc = startProcess(cwd, { HTTP_PORT: String(await freePort()), RTMP_PORT: String(await freePort()), DEFAULT_RESOLUTIONS: '1280x720,bogus' });
    expect(await proc.exited).to.equal(2);
    expect(proc.output()).to.include('DEFAULT_RESOLUTIONS');
  });

  it('a port in use fails start-up with a clear message and exit 1', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      proc = startProcess(cwd, { HTTP_PORT: String(await freePort()), RTMP_PORT: String(busy), BIND_ADDRESS: '127.0.0.1' });
      expect(await proc.exited).to.equal(1);
      expect(proc.output()).to.match(/could not start: .*EADDRINUSE/);
      expect(proc.output()).not.to.match(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
