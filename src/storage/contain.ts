/**
 * Containment by real path: a file castline serves or writes must really lie under the real path
 * of the output root, whatever symlinks sit on the way. A symlink that stays inside the root is
 * followed; one that leads out of it is treated as if the file did not exist (reads) or refused
 * with a `StoragePathError` (writes). Path text checks (`..`, absolute paths) happen before this.
 *
 * Reads are race-free: the file is opened first, then the path of what was actually opened is read
 * back from `/proc/self/fd/N` (Linux, which castline requires) and checked. Writes check the
 * deepest existing folder before creating anything, and the folder again once it exists; the final
 * component is written as a fresh temp file (`wx`) and renamed over the name, and `rename` replaces
 * a symlink rather than following it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class StoragePathError extends Error {
  constructor(relative: string, why = 'path escapes the storage root') {
    super(`${why}: ${JSON.stringify(relative)}`);
    this.name = 'StoragePathError';
  }
}

/** Whether `real` (a real path) is `root` itself or inside it (`root` a real path too). */
export function isWithin(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The real path of the root (the root itself when it does not exist yet). */
export async function realRoot(root: string): Promise<string> {
  return fs.promises.realpath(root).catch(() => path.resolve(root));
}

export function realRootSync(root: string): string {
  try {
    return fs.realpathSync(root);
  } catch {
    return path.resolve(root);
  }
}

/**
 * Opens a regular file for reading only if it really lies under `root`. Null when it does not
 * exist, is not a regular file, or resolves outside the root (the caller answers 404 for all three).
 */
export async function openContained(root: string, file: string): Promise<fs.promises.FileHandle | null> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const opened = await fs.promises.readlink(`/proc/self/fd/${handle.fd}`);
    const stat = await handle.stat();
    if (stat.isFile() && isWithin(await realRoot(root), opened)) return handle;
  } catch {
    /* treated as not servable */
  }
  await handle.close();
  return null;
}

/** Reads a whole file if it really lies under `root`; null otherwise (see `openContained`). */
export async function readContained(root: string, file: string): Promise<Buffer | null> {
  const handle = await openContained(root, file);
  if (handle === null) return null;
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The deepest existing ancestor of `abs` (or `abs` itself). */
function deepestExisting(abs: string): string {
  let p = abs;
  while (!fs.existsSync(p)) {
    const parent = path.dirname(p);
    if (parent === p) return p;
    p = parent;
  }
  return p;
}

function checkSync(rootReal: string, abs: string, shown: string): void {
  let real: string;
  try {
    real = fs.realpathSync(deepestExisting(abs));
  } catch (err) {
    throw new StoragePathError(shown, `cannot resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!isWithin(rootReal, real)) throw new StoragePathError(shown, 'path leads out of the storage root through a symlink');
}

/**
 * Creates folder `abs` (and its parents) only if it stays under `root` by real path; throws
 * `StoragePathError` otherwise, before and after creating it. `shown` names it in the error.
 */
export function ensureContainedDirSync(root: string, abs: string, shown: string): void {
  fs.mkdirSync(root, { recursive: true });
  const rootReal = realRootSync(root);
  checkSync(rootReal, abs, shown);
  fs.mkdirSync(abs, { recursive: true });
  checkSync(rootReal, abs, shown);
}

export async function ensureContainedDir(root: string, abs: string, shown: string): Promise<void> {
  await fs.promises.mkdir(root, { recursive: true });
  const rootReal = await realRoot(root);
  checkSync(rootReal, abs, shown);
  await fs.promises.mkdir(abs, { recursive: true });
  checkSync(rootReal, abs, shown);
}

/** Throws `StoragePathError` unless the folder holding `abs` lies under `root` by real path (for removals). */
export function assertContainedParent(root: string, abs: string, shown: string): void {
  checkSync(realRootSync(root), path.dirname(abs), shown);
}
