/**
 * Filesystem storage for HLS and preview output. Every path is storage-relative and confined under
 * the root: absolute paths, `..` segments and anything resolving outside the root are rejected.
 * Writes are atomic (`atomic-write.ts`): a reader sees the old file or the new one, never a partial one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempPathBeside, writeFileAtomic, writeFileAtomicSync } from './atomic-write';

export class StoragePathError extends Error {
  constructor(relative: string) {
    super(`path escapes the storage root: ${JSON.stringify(relative)}`);
    this.name = 'StoragePathError';
  }
}

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
    await fs.promises.mkdir(abs, { recursive: true });
    return abs;
  }

  /** Writes `data` to `relative` atomically (temp + rename), creating folders as needed. */
  async writeAtomic(relative: string, data: string | Uint8Array): Promise<void> {
    const abs = this.resolve(relative);
    await fs.promises.mkdir(path.dirname(abs), { recursive: true });
    await writeFileAtomic(abs, data);
  }

  /** Same as writeAtomic, synchronously (used on shutdown paths). */
  writeAtomicSync(relative: string, data: string | Uint8Array): void {
    const abs = this.resolve(relative);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    writeFileAtomicSync(abs, data);
  }

  /** Moves a complete file (e.g. from the staging folder) to `relative`: a rename, or copy + rename across devices. */
  async moveIn(absoluteSource: string, relative: string): Promise<void> {
    const abs = this.resolve(relative);
    await fs.promises.mkdir(path.dirname(abs), { recursive: true });
    try {
      await fs.promises.rename(absoluteSource, abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const tmp = tempPathBeside(abs);
      await fs.promises.copyFile(absoluteSource, tmp);
      await fs.promises.rename(tmp, abs);
      await fs.promises.rm(absoluteSource, { force: true });
    }
  }

  async remove(relative: string): Promise<void> {
    await fs.promises.rm(this.resolve(relative), { force: true });
  }

  async removeTree(relative: string): Promise<void> {
    await fs.promises.rm(this.resolve(relative), { recursive: true, force: true });
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
