/**
 * Filesystem storage for HLS and preview output. Every path is storage-relative and confined under
 * the root: absolute paths, `..` segments and anything resolving outside the root are rejected, by
 * path text first and then by real path (a symlink leading out of the root is refused, see
 * `contain.ts`). Writes are atomic (`atomic-write.ts`, a fresh temp file created exclusively): a
 * reader sees the old file or the new one, never a partial one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempPathBeside, writeFileAtomic, writeFileAtomicSync } from './atomic-write';
import { assertContainedParent, ensureContainedDir, ensureContainedDirSync, StoragePathError } from './contain';

export { StoragePathError } from './contain';

export class FileStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The absolute path of a storage-relative path; throws StoragePathError if it would leave the root. */
  resolve(relative: string): string {
    if (relative === '' || path.isAbsolute(relative) || relative.includes('\0') || relative.split(/[\\/]/).includes('..')) {
      throw new StoragePathError(relative);
    }
    const abs = path.resolve(this.root, relative);
    if (abs !== this.root && !abs.startsWith(this.root + path.sep)) throw new StoragePathError(relative);
    return abs;
  }

  async ensureDir(relative: string): Promise<string> {
    const abs = this.resolve(relative);
    await ensureContainedDir(this.root, abs, relative);
    return abs;
  }

  /** Writes `data` to `relative` atomically (temp + rename), creating folders as needed. */
  async writeAtomic(relative: string, data: string | Uint8Array): Promise<void> {
    const abs = this.resolve(relative);
    await ensureContainedDir(this.root, path.dirname(abs), relative);
    await writeFileAtomic(abs, data);
  }

  /** Same as writeAtomic, synchronously (used on shutdown paths). */
  writeAtomicSync(relative: string, data: string | Uint8Array): void {
    const abs = this.resolve(relative);
    ensureContainedDirSync(this.root, path.dirname(abs), relative);
    writeFileAtomicSync(abs, data);
  }

  /** Moves a complete file (e.g. from the staging folder) to `relative`: a rename, or copy + rename across devices. */
  async moveIn(absoluteSource: string, relative: string): Promise<void> {
    const abs = this.resolve(relative);
    await ensureContainedDir(this.root, path.dirname(abs), relative);
    try {
      await fs.promises.rename(absoluteSource, abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const tmp = tempPathBeside(abs);
      await fs.promises.copyFile(absoluteSource, tmp, fs.constants.COPYFILE_EXCL);
      await fs.promises.rename(tmp, abs);
      await fs.promises.rm(absoluteSource, { force: true });
    }
  }

  async remove(relative: string): Promise<void> {
    const abs = this.resolve(relative);
    assertContainedParent(this.root, abs, relative);
    await fs.promises.rm(abs, { force: true });
  }

  /** Removes a folder and what it holds; a symlink in its place is removed, never followed. */
  async removeTree(relative: string): Promise<void> {
    const abs = this.resolve(relative);
    assertContainedParent(this.root, abs, relative);
    await fs.promises.rm(abs, { recursive: true, force: true });
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await fs.promises.access(this.resolve(relative));
      return true;
    } catch {
      return false;
    }
  }
}
