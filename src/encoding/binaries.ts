/**
 * The ffmpeg and ffprobe binaries shipped by @ffmpeg-installer / @ffprobe-installer. npm here may
 * skip their postinstall `chmod`, and a fresh `npm ci` was seen to leave ffmpeg without its execute
 * bit: the bit is set as soon as this module loads (quietly), and main checks again at start-up,
 * failing with a clear message if it cannot be fixed.
 */
import * as fs from 'node:fs';
import * as ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import * as ffprobeInstaller from '@ffprobe-installer/ffprobe';

export const ffmpegPath: string = ffmpegInstaller.path;
export const ffprobePath: string = ffprobeInstaller.path;

/** Makes `file` executable by everyone if it is not; throws with the fix to apply when it cannot. */
export function ensureExecutable(file: string, name: string): void {
  if (!fs.existsSync(file)) throw new Error(`${name} binary not found at ${file}: run 'npm ci' again`);
  const mode = fs.statSync(file).mode;
  if ((mode & 0o111) === 0o111) return;
  try {
    fs.chmodSync(file, mode | 0o111);
    fs.accessSync(file, fs.constants.X_OK);
  } catch (err) {
    throw new Error(`${name} at ${file} is not executable and could not be made so (${(err as Error).message}): run 'chmod +x ${file}'`);
  }
}

/** Makes sure both binaries exist and are executable. Throws with the fix to apply. */
export function ensureBinaries(): void {
  ensureExecutable(ffmpegPath, 'ffmpeg');
  ensureExecutable(ffprobePath, 'ffprobe');
}

try {
  ensureBinaries();
} catch {
  // Reported by main at start-up (ensureBinaries), where it stops castline with the message.
}
