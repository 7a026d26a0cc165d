/**
 * The published outputs of one stream: which segments each rendition has, the recording parts,
 * the previews count, and what was announced. `applyOutputEvent` is the pure state transition;
 * the worker applies it and writes the files (`StreamOutputs`), the pool applies the same events
 * to a mirror on the main thread so that a restart continues the numbering and a dead worker's
 * playlists can still be finalized.
 */
import * as fs from 'node:fs';
import type { SegmentFormat } from '../domain/media';
import type { OutputAvailable } from '../domain/outputs';
import type { PreviewSettings } from '../domain/settings';
import type { FileStorage } from '../storage/filesystem';
import type { Rendition, SourceInfo } from './ladder';
import { layout, type StreamRef } from './layout';
import { AAC_LC_CODEC, avc1Codec, avc1FromStream, encodedBandwidth, h264Level, masterPlaylist, measuredBandwidth, type MasterEntry } from './master';
import { liveWindow, livePlaylist, segmentExtension, vodPlaylist, type Segment } from './playlist';
import { previewId, previewIndexJson } from './previews';

export interface OutputSettings {
  hlsTime: number;
  liveSize: number;
  vodMaxSize: number;
  record: boolean;
  /** Segment container; default mpegts (`{n}.ts` cut by ffmpeg). */
  format?: SegmentFormat;
}

export interface RenditionState {
  rendition: Rendition;
  /** H.264 level used (encoded) or reported by the source (copied). */
  level: number;
  codecs: string;
  /** `codecs` was read from the rendition's own bitstream (first segment's SPS). */
  codecsMeasured: boolean;
  /** Peak bits per second for the master playlist (measured for copied renditions). */
  bandwidth: number;
  /** Segments still listed or kept on storage (about two live windows when not recording). */
  recent: Segment[];
  /** Recording: segments of the current part. */
  vodPart: Segment[];
  vodPartIndex: number;
  /** Seconds before the current part (its Start-Time). */
  vodPartStart: number;
  nextNumber: number;
  /** The next segment follows an encoder restart. */
  discontinuityPending: boolean;
  liveAnnounced: boolean;
  /** Index of the last announced VOD part, -1 = none. */
  vodAnnounced: number;
  /** Total seconds published. */
  totalSeconds: number;
}

export interface OutputsState {
  ref: StreamRef;
  settings: OutputSettings;
  info: SourceInfo;
  renditions: RenditionState[];
  previews: { settings: PreviewSettings; id: string; count: number; announced: boolean } | null;
  ended: boolean;
}

export type OutputEvent =
  | { kind: 'segment'; rendition: string; n: number; duration: number; bytes: number }
  | { kind: 'codecs'; rendition: string; codecs: string }
  | { kind: 'preview'; count: number }
  | { kind: 'restart' }
  | { kind: 'reopen' }
  | { kind: 'ended' };

export function initialOutputs(ref: StreamRef, settings: OutputSettings, info: SourceInfo, renditions: Rendition[], previews: PreviewSettings | null): OutputsState {
  return {
    ref,
    settings,
    info,
    renditions: renditions.map((r) => {
      const level = r.mode === 'copy' ? info.videoLevel ?? h264Level(r.width, r.height, r.fps) : h264Level(r.width, r.height, r.fps);
      const profile = r.mode === 'copy' ? info.videoProfile ?? 'High' : 'High';
      return {
        rendition: r,
        level,
        codecs: info.audioCodec !== null ? `${avc1Codec(profile, level)},${AAC_LC_CODEC}` : avc1Codec(profile, level),
        codecsMeasured: false,
        bandwidth: r.mode === 'copy' ? 0 : encodedBandwidth(r.videoKbps, info.audioCodec !== null ? r.audioKbps : 0),
        recent: [],
        vodPart: [],
        vodPartIndex: 0,
        vodPartStart: 0,
        nextNumber: 0,
        discontinuityPending: false,
        liveAnnounced: false,
        vodAnnounced: -1,
        totalSeconds: 0,
      };
    }),
    previews: previews ? { settings: previews, id: previewId(previews.width, previews.height, previews.intervalSeconds), count: 0, announced: false } : null,
    ended: false,
  };
}

/** Applies one event in place; returns what it changed, for the writer. */
export function applyOutputEvent(state: OutputsState, event: OutputEvent): { rendition?: RenditionState; closedPart?: { index: number; segments: Segment[] }; dropped?: number[] } {
  switch (event.kind) {
    case 'restart':
      for (const r of state.renditions) if (r.recent.length > 0 || r.vodPart.length > 0 || r.nextNumber > 0) r.discontinuityPending = true;
      return {};
    case 'reopen':
      state.ended = false;
      return {};
    case 'ended':
      state.ended = true;
      return {};
    case 'codecs': {
      const r = state.renditions.find((x) => x.rendition.id === event.rendition);
      if (r) {
        r.codecs = event.codecs;
        r.codecsMeasured = true;
      }
      return {};
    }
    case 'preview':
      if (state.previews) state.previews.count = Math.max(state.previews.count, event.count);
      return {};
    case 'segment': {
      const r = state.renditions.find((x) => x.rendition.id === event.rendition);
      if (!r) return {};
      const segment: Segment = { n: event.n, duration: event.duration, discontinuity: r.discontinuityPending };
      r.discontinuityPending = false;
      r.nextNumber = event.n + 1;
      r.totalSeconds += event.duration;
      if (r.rendition.mode === 'copy' && event.duration > 0.2) r.bandwidth = Math.max(r.bandwidth, measuredBandwidth(event.bytes, event.duration));
      r.recent.push(segment);
      const keep = 2 * state.settings.liveSize;
      const dropped = r.recent.length > keep ? r.recent.splice(0, r.recent.length - keep).map((s) => s.n) : [];
      let closedPart: { index: number; segments: Segment[] } | undefined;
      if (state.settings.record) {
        if (r.vodPart.length >= state.settings.vodMaxSize) {
          closedPart = { index: r.vodPartIndex, segments: r.vodPart };
          r.vodPartStart += r.vodPart.reduce((sum, s) => sum + s.duration, 0);
          r.vodPartIndex++;
          r.vodPart = [];
        }
        r.vodPart.push(segment);
      }
      return closedPart ? { rendition: r, closedPart, dropped: [] } : { rendition: r, dropped: state.settings.record ? [] : dropped };
    }
  }
}

function masterEntries(state: OutputsState): MasterEntry[] {
  return state.renditions
    .filter((r) => r.liveAnnounced)
    .map((r) => ({ id: r.rendition.id, width: r.rendition.width, height: r.rendition.height, fps: r.rendition.fps, bandwidth: r.bandwidth, codecs: r.codecs }));
}

/** Live playlist text of a rendition in the current state. */
/**
 * An output the worker announced, recorded in the main thread's mirror of the state: a run that
 * continues the stream (a restart, on this node or another) does not announce it again.
 */
export function markAnnounced(state: OutputsState, output: OutputAvailable): void {
  if (output.streamType === 'IMG-PREVIEW') {
    if (state.previews) state.previews.announced = true;
    return;
  }
  const r = state.renditions.find((x) => x.rendition.id === output.resolution);
  if (!r) return;
  if (output.streamType === 'HLS-LIVE') r.liveAnnounced = true;
  else r.vodAnnounced = Math.max(r.vodAnnounced, Number(/vod-(\d+)\.m3u8$/.exec(output.indexFile)?.[1] ?? -1));
}

export function liveText(state: OutputsState, r: RenditionState): string {
  return livePlaylist(liveWindow(r.recent, state.settings.liveSize), { hlsTime: state.settings.hlsTime, ended: state.ended, format: state.settings.format });
}

export function vodText(state: OutputsState, r: RenditionState, segments: readonly Segment[] = r.vodPart): string {
  return vodPlaylist(segments, { hlsTime: state.settings.hlsTime, ended: state.ended, format: state.settings.format });
}

/**
 * Writes the final playlists (ENDLIST on live and the current VOD part) of a state whose owner is
 * gone (dead worker). Synchronous, best effort.
 */
export function finalizeSync(state: OutputsState, storage: FileStorage): void {
  state.ended = true;
  for (const r of state.renditions) {
    if (r.recent.length > 0) storage.writeAtomicSync(layout.live(state.ref, r.rendition.id), liveText(state, r));
    if (state.settings.record && r.vodPart.length > 0) storage.writeAtomicSync(layout.vod(state.ref, r.rendition.id, r.vodPartIndex), vodText(state, r));
  }
}

/** The worker side: applies events and writes playlists, master, index.json; announces outputs. */
export class StreamOutputs {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly state: OutputsState,
    private readonly storage: FileStorage,
    private readonly announce: (output: OutputAvailable) => void,
    private readonly mirror: (event: OutputEvent) => void,
  ) {}

  /** Runs `task` after every earlier file operation of this stream (one writer per stream). */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Moves a complete staged segment in, then lists it. */
  addSegment(renditionId: string, n: number, duration: number, stagedFile: string, bytes: number): Promise<void> {
    return this.enqueue(async () => {
      const known = this.state.renditions.find((x) => x.rendition.id === renditionId);
      if (known && !known.codecsMeasured) await this.measureCodecs(known, stagedFile);
      await this.storage.moveIn(stagedFile, layout.segment(this.state.ref, renditionId, n, this.ext));
      await this.publishSegment(renditionId, n, duration, bytes);
    });
  }

  /**
   * fmp4: writes the CMAF header of a rendition (before its first segment) with the codecs it
   * declares (read from the stream's own configuration, so nothing is measured later).
   */
  addInit(renditionId: string, data: Uint8Array, codecs: string): Promise<void> {
    return this.enqueue(async () => {
      const event: OutputEvent = { kind: 'codecs', rendition: renditionId, codecs };
      applyOutputEvent(this.state, event);
      this.mirror(event);
      await this.storage.writeAtomic(layout.init(this.state.ref, renditionId), data);
    });
  }

  /** fmp4: writes a complete segment packaged in memory (atomically), then lists it. */
  addSegmentData(renditionId: string, n: number, duration: number, data: Uint8Array): Promise<void> {
    return this.enqueue(async () => {
      await this.storage.writeAtomic(layout.segment(this.state.ref, renditionId, n, this.ext), data);
      await this.publishSegment(renditionId, n, duration, data.length);
    });
  }

  private get ext(): 'ts' | 'm4s' {
    return segmentExtension(this.state.settings.format);
  }

  /** Lists a segment that is on storage: live playlist, master, recording, announcements, clean-up. */
  private async publishSegment(renditionId: string, n: number, duration: number, bytes: number): Promise<void> {
    const ref = this.state.ref;
    const event: OutputEvent = { kind: 'segment', rendition: renditionId, n, duration, bytes };
    const change = applyOutputEvent(this.state, event);
    this.mirror(event);
    const r = change.rendition;
    if (!r) return;
    await this.storage.writeAtomic(layout.live(ref, renditionId), liveText(this.state, r));
    if (!r.liveAnnounced) {
      r.liveAnnounced = true;
      await this.storage.writeAtomic(layout.master(ref), masterPlaylist(masterEntries(this.state)));
      this.announce({ streamType: 'HLS-LIVE', resolution: renditionId, indexFile: layout.live(ref, renditionId) });
    }
    if (this.state.settings.record) {
      if (change.closedPart) {
        // The finished part is complete: it becomes a VOD playlist with ENDLIST.
        const closed = vodPlaylist(change.closedPart.segments, { hlsTime: this.state.settings.hlsTime, ended: true, format: this.state.settings.format });
        await this.storage.writeAtomic(layout.vod(ref, renditionId, change.closedPart.index), closed);
      }
      await this.storage.writeAtomic(layout.vod(ref, renditionId, r.vodPartIndex), vodText(this.state, r));
      if (r.vodAnnounced < r.vodPartIndex) {
        r.vodAnnounced = r.vodPartIndex;
        const output: OutputAvailable = { streamType: 'HLS-VOD', resolution: renditionId, indexFile: layout.vod(ref, renditionId, r.vodPartIndex) };
        if (r.vodPartIndex > 0) output.startTime = Math.round(r.vodPartStart * 1000) / 1000;
        this.announce(output);
      }
    }
    for (const old of change.dropped ?? []) await this.storage.remove(layout.segment(ref, renditionId, old, this.ext)).catch(() => undefined);
  }

  private async measureCodecs(r: RenditionState, file: string): Promise<void> {
    const handle = await fs.promises.open(file, 'r');
    try {
      const buffer = Buffer.alloc(65536);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      const video = avc1FromStream(buffer.subarray(0, bytesRead));
      if (!video) return;
      const event: OutputEvent = { kind: 'codecs', rendition: r.rendition.id, codecs: this.state.info.audioCodec !== null ? `${video},${AAC_LC_CODEC}` : video };
      applyOutputEvent(this.state, event);
      this.mirror(event);
    } finally {
      await handle.close();
    }
  }

  /** `count` preview images exist: rewrite index.json, announce after the first. */
  setPreviewCount(count: number): Promise<void> {
    return this.enqueue(async () => {
      const p = this.state.previews;
      if (!p || count <= p.count) return;
      const event: OutputEvent = { kind: 'preview', count };
      applyOutputEvent(this.state, event);
      this.mirror(event);
      const indexFile = layout.previewIndex(this.state.ref, p.id);
      await this.storage.writeAtomic(indexFile, previewIndexJson(p.count));
      if (!p.announced) {
        p.announced = true;
        this.announce({ streamType: 'IMG-PREVIEW', resolution: p.id, indexFile });
      }
    });
  }

  /** The encoder restarted: the next segment of every rendition carries a discontinuity. */
  restart(): Promise<void> {
    return this.enqueue(async () => {
      const wasEnded = this.state.ended;
      for (const event of [{ kind: 'reopen' }, { kind: 'restart' }] as OutputEvent[]) {
        applyOutputEvent(this.state, event);
        this.mirror(event);
      }
      // Continuing a stream a dead worker finalized: take the ENDLIST back.
      if (wasEnded) await this.rewriteAll();
    });
  }

  /** The stream ended: ENDLIST on live and on the current recording part. */
  end(): Promise<void> {
    return this.enqueue(async () => {
      applyOutputEvent(this.state, { kind: 'ended' });
      this.mirror({ kind: 'ended' });
      await this.rewriteAll();
    });
  }

  private async rewriteAll(): Promise<void> {
    const ref = this.state.ref;
    for (const r of this.state.renditions) {
      if (r.recent.length > 0) await this.storage.writeAtomic(layout.live(ref, r.rendition.id), liveText(this.state, r));
      if (this.state.settings.record && r.vodPart.length > 0) await this.storage.writeAtomic(layout.vod(ref, r.rendition.id, r.vodPartIndex), vodText(this.state, r));
    }
  }

  /** Resolves when every queued file operation is done. */
  flush(): Promise<void> {
    return this.queue;
  }
}
