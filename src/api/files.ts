/**
 * Read-only serving of the generated outputs under HLS_FILESYSTEM_PATH: `/hls/…` and
 * `/img-preview/…` only (castline's state is never reachable). Every path segment is checked
 * before it touches the disk, and what was opened must really lie under the root (a symlink
 * leading out of it is a 404, see storage/contain.ts); playlists are written atomically by the encoder (temp + rename), so
 * a reader never sees a half-written one. CORS is open so browser players on other origins work.
 */
import * as path from 'node:path';
import { readContained } from '../storage/contain';
import type { Route } from './api.types';
import { errorResponse } from './json';

const SEGMENT = /^[A-Za-z0-9_~.-]+$/;

const TYPES: Record<string, { type: string; cache: string }> = {
  '.m3u8': { type: 'application/vnd.apple.mpegurl', cache: 'no-cache' },
  '.json': { type: 'application/json', cache: 'no-cache' },
  '.ts': { type: 'video/mp2t', cache: 'public, max-age=31536000, immutable' },
  '.m4s': { type: 'video/iso.segment', cache: 'public, max-age=31536000, immutable' },
  '.mp4': { type: 'video/mp4', cache: 'public, max-age=31536000, immutable' },
  '.jpg': { type: 'image/jpeg', cache: 'public, max-age=31536000, immutable' },
};

/** The file under `root` for a request path, or null when the path is not a servable output. */
export function resolveOutputPath(root: string, top: 'hls' | 'img-preview', rest: string): string | null {
  const parts = rest.split('/');
  if (parts.some((p) => !SEGMENT.test(p) || p === '.' || p === '..')) return null;
  if (!(path.extname(rest) in TYPES)) return null;
  const base = path.resolve(root, top);
  const file = path.resolve(base, ...parts);
  return file.startsWith(base + path.sep) ? file : null;
}

export function fileRoutes(root: string): Route[] {
  return (['hls', 'img-preview'] as const).map((top) => ({
    method: 'GET' as const,
    pattern: `/${top}/*`,
    auth: false,
    handler: async (req) => {
      const file = resolveOutputPath(root, top, req.params['*']);
      if (file === null) return errorResponse('NOT_FOUND', 'no such file');
      const body = await readContained(path.join(root, top), file).catch(() => null);
      if (body === null) return errorResponse('NOT_FOUND', 'no such file');
      const { type, cache } = TYPES[path.extname(file)];
      return { status: 200, headers: { 'Content-Type': type, 'Cache-Control': cache, 'Access-Control-Allow-Origin': '*' }, body };
    },
  }));
}
