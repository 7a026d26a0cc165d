/**
 * mmids' settings in the config file: `ffmpeg_path` (checked at start-up), `tls_cert_path` +
 * `tls_cert_password` (PKCS#12), `http_api_port` (HTTP_PORT), their environment equivalents
 * (the environment wins), PEM files, `log_path` (LOG_PATH: a folder that also receives the log lines),
 * and the messages that stop start-up naming the setting.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';
import { ffmpegPath } from '../../src/encoding/binaries';
import { loadTlsMaterial } from '../../src/net/tls-certificate';
import { startProcess } from '../helpers/process';
import { waitUntil } from '../helpers/wait';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert';

describe('config: mmids settings', () => {
  let dir: string;
  let cert: TestCertificate;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-settings-'));
    cert = makeTestCertificate(path.join(dir, 'certs'), 'abcd', 'site.pfx');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const withFile = (settings: string, env: Record<string, string> = {}) => {
    const file = path.join(dir, 'castline.config');
    fs.writeFileSync(file, `settings {\n${settings}\n}\n`);
    return loadConfig({ env: { CASTLINE_CONFIG: file, ...env }, dotenvPath: null, cwd: '/nonexistent-cwd' });
  };
  const problems = (settings: string, env: Record<string, string> = {}): string[] => {
    try {
      withFile(settings, env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('http_api_port is HTTP_PORT; the environment wins', () => {
    expect(withFile('    http_api_port 9011').httpPort).to.equal(9011);
    expect(withFile('    http_api_port 9011', { HTTP_PORT: '9100' }).httpPort).to.equal(9100);
  });

  it('ffmpeg_path: relative to the config file, checked to run as ffmpeg', () => {
    fs.symlinkSync(ffmpegPath, path.join(dir, 'my-ffmpeg'));
    expect(withFile('    ffmpeg_path my-ffmpeg').ffmpegPath).to.equal(path.join(dir, 'my-ffmpeg'));
    expect(withFile('', { FFMPEG_PATH: ffmpegPath }).ffmpegPath).to.equal(ffmpegPath);
    expect(withFile('').ffmpegPath).to.equal(null);
    expect(problems('    ffmpeg_path c:\\users\\me\\tools\\ffmpeg\\bin\\ffmpeg.exe')[0]).to.match(/^FFMPEG_PATH \(ffmpeg_path\) ".*ffmpeg\.exe" is not an executable file: ENOENT/);
    fs.writeFileSync(path.join(dir, 'not-ffmpeg'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
    expect(problems('    ffmpeg_path not-ffmpeg')[0]).to.match(/does not run as ffmpeg/);
  });

  it('tls_cert_path + tls_cert_password (PKCS#12): read, relative to the config file; PEM files from the environment', () => {
    const pfx = withFile('    tls_cert_path certs/site.pfx\n    tls_cert_password abcd');
    expect(pfx.tls).to.deep.equal({ kind: 'pfx', path: cert.pfxFile, password: 'abcd' });
    const pem = withFile('', { TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile });
    expect(pem.tls).to.deep.equal({ kind: 'pem', certPath: cert.certFile, keyPath: cert.keyFile });
    // The PFX unpacked to PEM files for uWebSockets.js (key file private).
    const material = loadTlsMaterial(pfx.tls!, path.join(dir, 'state'));
    expect(fs.readFileSync(material.pem.certFile, 'utf8').replace(/\r/g, '')).to.equal(fs.readFileSync(cert.certFile, 'utf8'));
    expect(fs.statSync(material.pem.keyFile).mode & 0o777).to.equal(0o600);
  });

  it('a bad certificate or password stops start-up naming the setting', () => {
    expect(problems('    tls_cert_path certs/site.pfx\n    tls_cert_password wrong')[0])
      .to.match(/^TLS_CERT_PATH \(tls_cert_path\) ".*site\.pfx" cannot be opened with TLS_CERT_PASSWORD \(tls_cert_password\)/);
    expect(problems('    tls_cert_path certs/missing.pfx')[0]).to.match(/^TLS_CERT_PATH \(tls_cert_path\) ".*missing\.pfx" cannot be read: ENOENT/);
    expect(problems('    tls_cert_path certs/cert.pem\n    tls_cert_password abcd')[0]).to.match(/^TLS_CERT_PATH \(tls_cert_path\)/);
    expect(problems('', { TLS_CERT_FILE: cert.certFile })[0]).to.equal('TLS_KEY_FILE must be set with TLS_CERT_FILE');
    expect(problems('', { TLS_CERT_FILE: cert.keyFile, TLS_KEY_FILE: cert.keyFile })[0]).to.match(/^TLS_CERT_FILE \/ TLS_KEY_FILE .* are not a PEM certificate and its key/);
    expect(problems('    tls_cert_path certs/site.pfx', { TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile })[0]).to.match(/cannot both be set/);
  });

  it('castline as a process: a wrong tls_cert_password stops start-up (exit 2) naming the setting', async function () {
    this.timeout(20_000);
    const file = path.join(dir, 'bad.config');
    fs.writeFileSync(file, `settings {\n    tls_cert_path ${cert.pfxFile}\n    tls_cert_password nope\n}\n`);
    const proc = startProcess(dir, { CASTLINE_CONFIG: file, HTTP_PORT: '0', RTMP_PORT: '0' });
    expect(await proc.exited).to.equal(2);
    expect(proc.output()).to.match(/invalid configuration:\n {2}TLS_CERT_PATH \(tls_cert_path\) .* cannot be opened with TLS_CERT_PASSWORD \(tls_cert_password\)/);
  });

  it('log_path: a folder relative to the config file, created if missing; the environment wins; a file there is refused', () => {
    expect(withFile('    log_path logs').logPath).to.equal(path.join(dir, 'logs'));
    expect(fs.statSync(path.join(dir, 'logs')).isDirectory()).to.equal(true);
    expect(withFile('    log_path logs', { LOG_PATH: path.join(dir, 'env-logs') }).logPath).to.equal(path.join(dir, 'env-logs'));
    expect(withFile('').logPath).to.equal(null);
    fs.writeFileSync(path.join(dir, 'a-file'), 'x');
    expect(problems('    log_path a-file')[0]).to.match(/^LOG_PATH \(log_path\) ".*a-file" is not a folder castline can write castline\.log into: (ENOTDIR|EEXIST)/);
  });

  it('castline as a process with log_path: the log file gets the lines stdout gets; SIGHUP reopens it after a rotation; the last line is there at exit', async function () {
    this.timeout(30_000);
    const file = path.join(dir, 'logs.config');
    const logs = path.join(dir, 'proc-logs');
    fs.writeFileSync(file, `settings {\n    log_path proc-logs\n}\n`);
    const proc = startProcess(dir, { CASTLINE_CONFIG: file, HTTP_PORT: '0', RTMP_PORT: '0', BIND_ADDRESS: '127.0.0.1', HLS_FILESYSTEM_PATH: path.join(dir, 'data'), STATE_PATH: path.join(dir, 'state') });
    const fileLines = (name: string) => (fs.existsSync(path.join(logs, name)) ? fs.readFileSync(path.join(logs, name), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : []);
    await waitUntil(() => fileLines('castline.log').some((l) => l.msg === 'RTMP listening'), 'start-up lines in the log file', 20_000);
    const started = proc.lines().filter((l) => l.msg === 'RTMP listening');
    expect(fileLines('castline.log').filter((l) => l.msg === 'RTMP listening')).to.deep.equal(started);
    fs.renameSync(path.join(logs, 'castline.log'), path.join(logs, 'castline.log.1'));
    proc.child.kill('SIGHUP');
    await waitUntil(() => fs.existsSync(path.join(logs, 'castline.log')), 'reopened log file', 5000);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).to.equal(0);
    expect(fileLines('castline.log').map((l) => l.msg)).to.include.members(['shutting down', 'stopped']);
    expect(fileLines('castline.log.1').map((l) => l.msg)).to.include('RTMP listening').and.not.include('stopped');
  });

  it('reactors in the file are kept for the workflows; an unknown setting is still refused', () => {
    const file = path.join(dir, 'r.config');
    fs.writeFileSync(file, 'reactor test executor=simple_http update_interval=15 {\n    url http://localhost:9055/test?a=b&c=d\n}\nsettings {\n    log_pathx /x\n}\n');
    try {
      loadConfig({ env: { CASTLINE_CONFIG: file }, dotenvPath: null, cwd: dir });
      expect.fail('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).problems).to.have.length(1);
      expect((err as ConfigError).problems[0]).to.match(/unknown setting 'log_pathx'/);
    }
    fs.writeFileSync(file, 'reactor test executor=simple_http update_interval=15 {\n    url http://localhost:9055/test?a=b&c=d\n}\n');
    const c = loadConfig({ env: { CASTLINE_CONFIG: file }, dotenvPath: null, cwd: dir });
    expect(c.configFile!.reactors).to.deep.equal([{ name: 'test', executor: 'simple_http', updateIntervalSeconds: 15, parameters: { url: 'http://localhost:9055/test?a=b&c=d' }, line: 1, column: 1 }]);
  });
});
