/**
 * Headless Chromium as a child process, for tests that need a real browser (MediaRecorder,
 * WebSocket). Debian's package installs the real binary at /usr/lib/chromium/chromium; it is
 * launched directly (the /usr/bin/chromium wrapper script would leave the browser behind when
 * killed). Everything it starts, its crashpad handlers included, mentions the launch's temporary
 * root on its command line, so `close()` can prove with `ps` that nothing is left.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from './wait';

/** The browser binary: $CASTLINE_TEST_CHROMIUM, else Debian's real binary. */
export const chromiumPath = process.env.CASTLINE_TEST_CHROMIUM || '/usr/lib/chromium/chromium';

/** Whether the browser can be run here (tests skip when it cannot). */
export function chromiumAvailable(): boolean {
  try {
    fs.accessSync(chromiumPath, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface Browser {
  child: ChildProcess;
  /** The temporary folder holding the profile, config and cache; every browser process names it. */
  root: string;
  /** The last 64 KiB of the browser's stdout and stderr, for failure messages. */
  output(): string;
  /** Whether the browser process has exited (and its code or signal). */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /**
   * Stops the browser (SIGTERM, then SIGKILL after `graceMs`), waits until `ps` shows no process
   * naming its root (SIGKILLing any that remain), removes the root and returns the command lines
   * of the processes that had to be killed that way (empty when the browser shut down cleanly).
   * Safe to call more than once.
   */
  close(graceMs?: number): Promise<string[]>;
}

/** Processes (pid and command line) whose command line mentions `needle`. */
export function processesNaming(needle: string): Array<{ pid: number; args: string }> {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(needle))
    .map((l) => ({ pid: Number(l.split(/\s+/, 1)[0]), args: l.slice(l.indexOf(' ') + 1) }))
    .filter((p) => p.pid !== process.pid && !p.args.startsWith('ps '));
}

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
  '--no-default-browser-check', '--mute-audio',
];

/** Launches headless Chromium on `url` with a fresh profile in a new temporary folder. */
export function launchChromium(url: string): Browser {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-chromium-'));
  // XDG_CONFIG_HOME puts the crashpad database (and so the handlers' command lines) under root too.
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config'), XDG_CACHE_HOME: path.join(root, 'cache') };
  const child = spawn(chromiumPath, [...FLAGS, `--user-data-dir=${path.join(root, 'profile')}`, url], {
    env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.on('error', (err) => {
    keep(Buffer.from(`\nspawn error: ${err.message}\n`));
    exit ??= { code: null, signal: null };
  });
  child.on('exit', (code, signal) => (exit = { code, signal }));

  let closing: Promise<string[]> | null = null;
  const close = (graceMs = 5_000): Promise<string[]> => {
    closing ??= (async () => {
      const signalGroup = (sig: NodeJS.Signals) => {
        if (exit || child.pid === undefined) return;
        try { process.kill(-child.pid, sig); } catch { /* already gone */ }
      };
      signalGroup('SIGTERM');
      for (const deadline = Date.now() + graceMs; Date.now() < deadline && processesNaming(root).length > 0;) await sleep(50);
      const stragglers = processesNaming(root);
      signalGroup('SIGKILL');
      for (const p of stragglers) {
        try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      for (const deadline = Date.now() + 5_000; Date.now() < deadline && processesNaming(root).length > 0;) await sleep(50);
      const left = processesNaming(root);
      if (left.length > 0) throw new Error(`browser processes survive SIGKILL: ${left.map((p) => `${p.pid} ${p.args.slice(0, 120)}`).join('; ')}`);
      fs.rmSync(root, { recursive: true, force: true });
      return stragglers.map((p) => `${p.pid} ${p.args.slice(0, 200)}`);
    })();
    return closing;
  };
  return { child, root, output: () => out, exited: () => exit, close };
}
