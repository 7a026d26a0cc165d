/**
 * `/studio/`: castline's own page to publish (camera, screen or a test pattern, over the WebSocket
 * protocol), list the live streams and watch one (hls.js, served from node_modules: nothing from a
 * CDN, works offline). The page is static (`src/api/studio/`, read once at start); what it shows
 * comes from `GET /studio/api/overview`, which takes the commands API credentials (the page asks
 * for them when it gets a 401 and keeps them in sessionStorage, never in a URL).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Capacity, Report } from '../coordinator/coordinator.types';
import type { ActivityEvent, LiveActivity } from './activity';
import type { ApiResponse, Route } from './api.types';
import { errorResponse, json } from './json';

/** Where the page's files live: the source folder (they are not compiled), from dist/src/api or dist-test/src/api. */
export const STUDIO_ASSETS = path.resolve(__dirname, '../../../src/api/studio');

/** What the overview reads. */
export interface StudioSource {
  report(): Report;
  capacity(): Capacity;
  live(streamId: string): Readonly<LiveActivity> | null;
  recent(): ActivityEvent[];
}

export interface StudioOptions {
  /** HLS_TIME_SECONDS: the page sets its keyframe interval to it. */
  segmentSeconds: number;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };

export function studioRoutes(source: StudioSource, options: StudioOptions): Route[] {
  const assets = loadAssets(options);
  const page = assets.get('index.html')!;
  return [
    { method: 'GET', pattern: '/studio', auth: false, headers: [], handler: () => ({ status: 308, headers: { Location: '/studio/' }, body: '' }) },
    { method: 'GET', pattern: '/studio/', auth: false, headers: [], handler: () => page },
    {
      method: 'GET',
      pattern: '/studio/assets/:file',
      auth: false,
      headers: [],
      handler: (req) => assets.get(req.params['file']) ?? errorResponse('NOT_FOUND', `no studio asset ${req.params['file']}`),
    },
    { method: 'GET', pattern: '/studio/api/overview', auth: true, headers: [], handler: () => json(200, overview(source)) },
  ];
}

/** The page's files and hls.js, in memory, as ready responses. Throws (castline does not start) when one is missing. */
function loadAssets(options: StudioOptions): Map<string, ApiResponse> {
  const files: Record<string, string> = {
    'index.html': path.join(STUDIO_ASSETS, 'index.html'),
    'studio.js': path.join(STUDIO_ASSETS, 'studio.js'),
    'studio.css': path.join(STUDIO_ASSETS, 'studio.css'),
    'hls.min.js': require.resolve('hls.js/dist/hls.min.js'),
  };
  const out = new Map<string, ApiResponse>();
  for (const [name, file] of Object.entries(files)) {
    let body = fs.readFileSync(file, 'utf8');
    if (name === 'index.html') body = body.replace('{{SEGMENT_SECONDS}}', String(options.segmentSeconds));
    const cache = name === 'hls.min.js' ? 'public, max-age=86400' : 'no-cache';
    out.set(name, { status: 200, headers: { 'Content-Type': TYPES[path.extname(name)], 'Cache-Control': cache, 'X-Content-Type-Options': 'nosniff' }, body: Buffer.from(body) });
  }
  return out;
}

/** Live streams with their outputs and age, the encoder load and the last events. */
export function overview(source: StudioSource): object {
  const report = source.report();
  const servers = new Map(report.streamingServers.map((s) => [s.id, s.serverType]));
  const now = Date.now();
  const streams = report.activeStreams.map((s) => {
    const live = source.live(s.streamId);
    return {
      channel: s.channel,
      streamId: s.streamId,
      ingest: servers.get(s.streamServer) ?? null,
      ageSeconds: live === null ? null : Math.round((now - live.since) / 1000),
      renditions: live?.renditions ?? [],
      master: live?.master == null ? null : `/${live.master}`,
      previewIndex: live?.previewIndex == null ? null : `/${live.previewIndex}`,
    };
  });
  const { load, capacity } = source.capacity();
  return { encoder: { load, capacity }, streams, events: source.recent() };
}
