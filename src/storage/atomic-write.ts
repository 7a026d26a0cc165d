/**
 * The one atomic file write of castline: the data goes to a temp file in the target's folder
 * (same filesystem), which is then renamed over the target. A reader sees the old file or the new
 * one, never a partial one; a failed write leaves the target untouched and removes its temp file.
 * `fsync` (off by default: HLS playlists are rewritten every segment) flushes the temp file to
 * disk before the rename, for state that must survive a power cut.
 */
import * as fs from 'node:fs';

export interface AtomicWriteOptions {
  /** Permissions of a newly created file (before the umask). Default 0o666, like `fs.writeFile`. */
  mode?: number;
  /** fsync the data before the rename. Default false. */
  fsync?: boolean;
}

let tempCounter = 0;

/** A temp path beside `file`, unique within this process and across processes. */
export function tempPathBeside(file: string): string {
  return `${file}.${process.pid}.${++tempCounter}.tmp`;
}

/** Writes `data` to `file` atomically. The folder must exist. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathBeside(file);
  try {
    const handle = await fs.promises.open(tmp, 'wx', options.mode ?? 0o666); // never through a planted file or symlink
    try {
      await handle.writeFile(data);
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** `writeFileAtomic`, synchronously (shutdown paths, a dead worker's playlists, small state files). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempPathBeside(file);
  try {
    const fd = fs.openSync(tmp, 'wx', options.mode ?? 0o666);
    try {
      fs.writeFileSync(fd, data);
      if (options.fsync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
