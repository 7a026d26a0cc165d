/**
 * The ffmpeg and ffprobe binaries shipped by @ffmpeg-installer / @ffprobe-installer. npm here may
 * skip their postinstall chmod, so the execute bit is checked and fixed at start-up; if it cannot
 * be fixed, start-up fails with a clear message.
 */
import * as fs from 'node:fs';
import * as ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import * as ffprobeInstaller from '@ffprobe-installer/ffprobe';

export const ffmpegPath: string = ffmpegInstaller.path;
export const ffprobePath: string = ffprobeInstaller.path;

/** Makes sure both binaries exist and are executable by this process. Throws with the fix to apply. */
export function ensureBinaries(): void {
  for (const [name, file] of [['ffmpeg', ffmpegPath], ['ffprobe', ffprobePath]] as const) {
    if (!fs.existsSync(file)) throw new Error(`${name} binary not found at ${file}: run 'npm ci' again`);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      const mode = fs.statSync(file).mode;
      if ((mode & 0o111) !== 0o111) fs.chmodSync(file, mode | 0o111);
    } catch {
      try {
        fs.chmodSync(file, fs.statSync(file).mode | 0o111);
        fs.accessSync(file, fs.constants.X_OK);
      } catch (err) {
        throw new Error(`${name} at ${file} is not executable and could not be made so (${(err as Error).message}): run 'chmod +x ${file}'`);
      }
    }
  }
}
