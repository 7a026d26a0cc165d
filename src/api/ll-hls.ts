/**
 * Low-Latency HLS from memory, at the same `/hls/{channel}/{streamId}/{rendition}/…` paths as the
 * files: for a stream castline packages itself (`LiveHlsSource`), `live.m3u8` is the LL-HLS
 * playlist with blocking reload and delta updates, `init.mp4`, `{n}.m4s` and the parts
 * `{n}.{i}.m4s` come from memory; everything else (recordings, older segments, streams ffmpeg
 * cut, ended streams once released) is served from disk exactly as `files.ts` does.
 *
 * A held request is one pending promise woken by the part store (no polling, no thread); it is
 * answered when its part exists, with 503 after 3 × the target duration, and forgotten when the
 * client goes away. A plain (non-blocking) request of a live playlist is answered when the part
 * being written is complete, or after 1.5 part durations as it is (`playlistDecision`: why). Playlists are `no-cache`; init, segments and parts are immutable.
 *
 * Cluster mode (`elsewhere`): the playlist or a part of a stream another node holds in memory is
 * answered `307` to the same path and query on that node (no proxy: held requests wait there);
 * init, segments and the rest are on the shared storage and served here from disk.
 */
import type { Route, ApiRequest, ApiResponse } from './api.types';
import { errorResponse } from './json';
import { llPlaylist, llTargetDuration, type RenditionReport } from '../packaging/ll-playlist';
import { llFile, playlistDecision, playlistQuery } from './ll-hls-request';
import type { LiveHlsElsewhere, LiveHlsSource, LiveRendition } from './ll-hls.types';

const CORS = { 'Access-Control-Allow-Origin': '*' };
const PLAYLIST_HEADERS = { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache', ...CORS };
const MEDIA_HEADERS = { 'Content-Type': 'video/iso.segment', 'Cache-Control': 'public, max-age=31536000, immutable', ...CORS };
const INIT_HEADERS = { ...MEDIA_HEADERS, 'Content-Type': 'video/mp4' };

interface Target {
  rendition: LiveRendition;
  renditionId: string;
  others: Array<[string, LiveRendition]>;
  timing: { partSeconds: number; segmentSeconds: number };
}

/**
 * @param disk the file route answering `/hls/*` from disk (its handler gets `params['*']`)
 * @param elsewhere cluster mode: the other node holding a stream this one does not
 */
export function llHlsRoutes(source: LiveHlsSource, disk: Route, elsewhere: LiveHlsElsewhere | null = null): Route[] {
  return [{
    method: 'GET',
    pattern: '/hls/:channel/:streamId/:rendition/:file',
    auth: false,
    headers: [],
    query: true,
    handler: (req) => {
      const { channel, streamId, rendition, file } = req.params as Record<string, string>;
      const stream = source.stream(channel!, streamId!);
      const store = stream?.renditions.get(rendition!);
      const fromDisk = () => disk.handler({ ...req, params: { '*': `${channel}/${streamId}/${rendition}/${file}` } });
      if (stream === undefined && elsewhere !== null && memoryOnly(file!)) return redirectOrDisk(req, elsewhere, channel!, streamId!, fromDisk);
      if (stream === undefined || store === undefined) return fromDisk();
      const target: Target = { rendition: store, renditionId: rendition!, others: [...stream.renditions].filter(([id]) => id !== rendition), timing: stream.timing };
      const asked = llFile(file!);
      switch (asked.kind) {
        case 'playlist': return playlist(req, target);
        case 'init': return store.initSegment === null ? errorResponse('NOT_FOUND', 'no such file') : { status: 200, headers: INIT_HEADERS, body: store.initSegment };
        case 'segment': {
          const data = store.segmentData(asked.msn);
          return data === null ? fromDisk() : { status: 200, headers: MEDIA_HEADERS, body: data };
        }
        case 'part': return part(req, target, asked.msn, asked.part);
        case 'other': return fromDisk();
      }
    },
  }];
}

/** What only the node packaging a stream has: the LL playlist and the parts (the rest is on the shared disk too). */
function memoryOnly(file: string): boolean {
  const kind = llFile(file).kind;
  return kind === 'playlist' || kind === 'part';
}

/** To the node holding the stream (same path and query), else from disk. */
async function redirectOrDisk(req: ApiRequest, elsewhere: LiveHlsElsewhere, channel: string, streamId: string, fromDisk: () => ApiResponse | Promise<ApiResponse>): Promise<ApiResponse> {
  const base = await elsewhere.locate(channel, streamId);
  if (base === null) return fromDisk();
  const query = req.query === undefined || req.query === '' ? '' : `?${req.query}`;
  return { status: 307, headers: { Location: `${base}${req.path}${query}`, 'Cache-Control': 'no-cache', ...CORS } };
}

/** How long a request may be held: 3 × the target duration (then 503). */
function holdMs(target: Target): number {
  return 3 * llTargetDuration(target.rendition.window(), target.timing.segmentSeconds) * 1000;
}

/**
 * Holds until `waitFor` settles; the waiter is cancelled if the client goes away. On timeout: a 503
 * by default (a blocking request), or `onTimeout` (a plain request: the playlist as it is).
 */
function held(req: ApiRequest, rendition: LiveRendition, msn: number, part: number | null, timeoutMs: number, answer: () => ApiResponse, onTimeout?: () => ApiResponse): Promise<ApiResponse> {
  const wait = rendition.waitFor(msn, part, timeoutMs);
  req.onAbort?.(wait.cancel);
  return wait.done.then((outcome) => {
    if (outcome !== 'timeout') return answer();
    return onTimeout?.() ?? errorResponse('PART_TIMEOUT', `part ${msn}.${part ?? 0} did not arrive within ${timeoutMs / 1000} s`);
  });
}

function playlist(req: ApiRequest, target: Target): ApiResponse | Promise<ApiResponse> {
  const query = playlistQuery(req.query ?? '');
  if (typeof query === 'string') return errorResponse('BAD_REQUEST', query);
  const decision = playlistDecision(query, target.rendition.last(), target.rendition.hinted());
  const render = (): ApiResponse => ({ status: 200, headers: PLAYLIST_HEADERS, body: Buffer.from(playlistText(target, query.skip)) });
  switch (decision.action) {
    case 'refuse': return errorResponse('BAD_REQUEST', decision.reason);
    case 'now': return render();
    case 'wait': return held(req, target.rendition, decision.msn, decision.part, holdMs(target), render);
    case 'fresh': return held(req, target.rendition, decision.msn, decision.part, freshHoldMs(target), render, render);
  }
}

/** A plain request waits at most 1.5 part durations for the part being written (then the playlist as it is). */
function freshHoldMs(target: Target): number {
  return Math.ceil(1500 * target.timing.partSeconds);
}

function playlistText(target: Target, skip: boolean): string {
  const reports: RenditionReport[] = [];
  for (const [id, other] of target.others) {
    const last = other.last();
    if (last !== null) reports.push({ uri: `../${id}/live.m3u8`, lastMsn: last.msn, lastPart: last.part });
  }
  return llPlaylist({
    segments: target.rendition.window(),
    segmentSeconds: target.timing.segmentSeconds,
    partSeconds: target.timing.partSeconds,
    initUri: 'init.mp4',
    ended: target.rendition.isEnded,
    renditionReports: reports,
    skip,
    discontinuitySequence: target.rendition.discontinuitySequence,
  });
}

/** A part as written; the preload-hinted one is held until it is. */
function part(req: ApiRequest, target: Target, msn: number, index: number): ApiResponse | Promise<ApiResponse> {
  const { rendition } = target;
  const serve = (): ApiResponse => {
    const data = rendition.partData(msn, index);
    return data === null ? errorResponse('NOT_FOUND', 'no such part') : { status: 200, headers: MEDIA_HEADERS, body: data };
  };
  if (rendition.partData(msn, index) !== null) return serve();
  const hinted = rendition.hinted();
  if (hinted === null || hinted.msn !== msn || hinted.part !== index) return errorResponse('NOT_FOUND', 'no such part');
  return held(req, rendition, msn, index, holdMs(target), serve);
}
