/**
 * Storage failures, told apart from encoder failures (issue 13): a full disk (or quota) and an
 * output root that cannot be written (read-only file system, permissions, a symlink out of the
 * root) are not the encoder's fault and do not get better with a restart.
 *
 * - `STORAGE_FULL` (close reason `storage-full`): ENOSPC, EDQUOT.
 * - `STORAGE_ERROR` (close reason `storage-error`): EROFS, EACCES, EPERM, a `StoragePathError`;
 *   ENOENT / ENOTDIR from a write of castline's (a folder it made was removed, moved or replaced
 *   under it mid-write — e.g. while being swapped for a symlink).
 *
 * Classified once, where the error happens (a write of castline's, or ffmpeg's stderr); the
 * message names the path and the free space, so the one log line of the close says both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isWithin, StoragePathError } from './contain';

export type StorageFaultCode = 'STORAGE_FULL' | 'STORAGE_ERROR';

export interface StorageFault {
  code: StorageFaultCode;
  message: string;
}

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const UNWRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);
/** A folder castline made is not there any more (or is no folder): the storage changed under it. */
const VANISHED = new Set(['ENOENT', 'ENOTDIR']);

const STDERR: Array<[RegExp, StorageFaultCode, string]> = [
  [/No space left on device/i, 'STORAGE_FULL', 'ENOSPC'],
  [/Disk quota exceeded/i, 'STORAGE_FULL', 'EDQUOT'],
  [/Read-only file system/i, 'STORAGE_ERROR', 'EROFS'],
  [/Permission denied/i, 'STORAGE_ERROR', 'EACCES'],
];

/** Free bytes for unprivileged writers on the file system of `dir`, or null when it cannot be read. */
export function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

export function describeFree(root: string): string {
  const free = freeBytes(root);
  return free === null ? `free space of ${root} unknown` : `${(free / 1048576).toFixed(2)} MiB free on ${root}`;
}

function fault(code: StorageFaultCode, errno: string, where: string, root: string): StorageFault {
  const what = code === 'STORAGE_FULL' ? 'output storage full' : VANISHED.has(errno) ? 'output folder removed or replaced' : 'output storage not writable';
  return { code, message: `${what} (${errno}) writing ${where}; ${describeFree(root)}` };
}

/** Strictly inside `root` (the root itself is not a write of castline's). */
function isUnder(file: string, root: string): boolean {
  const [f, r] = [path.resolve(file), path.resolve(root)];
  return f !== r && isWithin(r, f);
}

/** The storage fault an error from a file operation under `root` is, or null when it is something else. */
export function storageFaultOf(err: unknown, root: string): StorageFault | null {
  if (err instanceof StoragePathError) return { code: 'STORAGE_ERROR', message: `output storage refused a path: ${err.message}` };
  const e = err as NodeJS.ErrnoException | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const where = typeof e?.path === 'string' ? e.path : root;
  if (FULL.has(code)) return fault('STORAGE_FULL', code, where, root);
  if (UNWRITABLE.has(code)) return fault('STORAGE_ERROR', code, where, root);
  // Only for a path of the output: a missing program or input (spawn's ENOENT) is no storage fault.
  if (VANISHED.has(code) && isUnder(where, root)) return fault('STORAGE_ERROR', code, where, root);
  return null;
}

/** The storage fault ffmpeg's stderr reports, or null. `where` names ffmpeg's output folder. */
export function storageFaultInStderr(stderr: string, where: string, root: string): StorageFault | null {
  for (const [pattern, code, errno] of STDERR) {
    const line = stderr.split(/\r?\n/).find((l) => pattern.test(l));
    if (line !== undefined) return fault(code, errno, `${where} (ffmpeg: ${line.trim().slice(0, 200)})`, root);
  }
  return null;
}

/**
 * Whether the output root can take a new stream: writable, and at least `minFreeBytes` free.
 * Null when it can; otherwise the refusal's code and message.
 */
export function storageAdmission(root: string, minFreeBytes: number): StorageFault | null {
  try {
    fs.accessSync(root, fs.constants.W_OK);
  } catch (err) {
    return { code: 'STORAGE_ERROR', message: `output storage ${root} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const free = freeBytes(root);
  if (free !== null && free < minFreeBytes) {
    return { code: 'STORAGE_FULL', message: `output storage full: ${describeFree(root)}, STORAGE_MIN_FREE_MB needs ${(minFreeBytes / 1048576).toFixed(2)} MiB` };
  }
  return null;
}
