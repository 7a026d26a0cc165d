/**
 * Access units in, CMAF out: the init segment at the first video keyframe, one fragment per part
 * (closed before the frame that would take it past `partSeconds`), segments closed at the first keyframe at or after
 * `segmentSeconds`. Video leads (parts and segments are cut on video frames; audio frames go to
 * the part their decode time falls in). Timestamps stay the source's (ms → 90 kHz video, sample
 * rate audio); audio decode times run on from frame to frame unless the source jumps.
 *
 * Media before the first video keyframe is dropped. A codec configuration that changes after the
 * init segment (a different SPS/PPS or AudioSpecificConfig) throws `UnsupportedMediaError`: the
 * caller closes the stream; an identical repeat is ignored. Audio that starts after the init
 * segment was written without an audio track is dropped (reported once through `onWarning`).
 */
import type { AccessUnit, AudioConfig, MediaEvent, TrackConfig, VideoConfig } from '../domain/media';
import { BoxWriter } from './box-writer';
import { cmafTracks, type CmafTracks } from './cmaf-tracks';
import { UnsupportedMediaError } from './flv-tag';
import { fragment, type FragmentSample, type FragmentTrackRun } from './fragment';
import { initSegment } from './init-segment';
import type { PackagerSink, PackagerTiming } from './packaging.types';

/** Timestamps are whole milliseconds at the source: allow that much rounding at a boundary. */
const TOLERANCE_MS = 1;
/** The first segment's buffer; later ones start at the previous segment's size plus a quarter. */
const FIRST_SEGMENT_BYTES = 256 * 1024;
/** No segment buffer starts smaller (a segment under ~43 KiB in it is copied out by `BoxWriter.finish`'s slack rule). */
const MIN_SEGMENT_BYTES = 64 * 1024;

export interface SegmenterOptions extends PackagerTiming {
  /** Media sequence number of the first segment (a restarted stream continues its numbering). */
  firstMsn?: number;
  /** The first segment follows an encoder restart (its part 0 says `discontinuity`). */
  discontinuity?: boolean;
  now?: () => number;
  onWarning?: (message: string) => void;
}

export class Segmenter {
  private video: VideoConfig | null = null;
  private audio: AudioConfig | null = null;
  private tracks: CmafTracks | null = null;
  private msn: number;
  private partIndex = 0;
  private sequence = 1;
  private segmentStart = 0;
  private partStart = 0;
  private partIndependent = false;
  private segmentWallClock = 0;
  private videoUnits: AccessUnit[] = [];
  private audioUnits: AccessUnit[] = [];
  /** Decode time (audio timescale) where the next audio frame continues the previous one. */
  private nextAudioTime: number | null = null;
  private warnedLateAudio = false;
  private ended = false;
  /** The segment being written: its parts one after the other, so the whole segment needs no concatenation. */
  private segmentBytes: BoxWriter | null = null;
  private nextSegmentBytes = FIRST_SEGMENT_BYTES;

  constructor(private readonly sink: PackagerSink, private readonly options: SegmenterOptions) {
    this.msn = options.firstMsn ?? 0;
  }

  /** True once the init segment was written. */
  get started(): boolean {
    return this.tracks !== null;
  }

  get config(): TrackConfig {
    return { video: this.video, audio: this.audio };
  }

  push(event: MediaEvent): void {
    if (this.ended) return;
    if (event.type === 'config') {
      if (event.video !== undefined) this.video = this.checkedConfig('video', this.video, event.video);
      if (event.audio !== undefined) this.audio = this.checkedConfig('audio', this.audio, event.audio);
      return;
    }
    if (event.unit.track === 'video') this.pushVideo(event.unit);
    else this.pushAudio(event.unit);
  }

  /** Flushes the last part and segment. Nothing is accepted afterwards. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const units = this.videoUnits;
    if (this.tracks === null || units.length === 0) return;
    const last = units[units.length - 1]!;
    const frame = units.length > 1 ? last.dts - units[units.length - 2]!.dts : 1000 / 30;
    const boundary = last.dts + frame;
    this.closePart(boundary, true);
    this.sink.segmentEnd({ msn: this.msn, duration: (boundary - this.segmentStart) / 1000, data: this.takeSegment() });
  }

  private checkedConfig<T extends VideoConfig | AudioConfig>(kind: string, current: T | null, next: T): T {
    if (this.tracks === null || current === null) return next;
    const a = current.codec === 'h264' ? current.avcC : (current as AudioConfig).asc;
    const b = next.codec === 'h264' ? next.avcC : (next as AudioConfig).asc;
    if (Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0) return current;
    throw new UnsupportedMediaError(`the ${kind} codec configuration changed mid-stream`);
  }

  private pushVideo(unit: AccessUnit): void {
    if (this.tracks === null) {
      if (!unit.keyframe || this.video === null) return;
      this.start(unit);
    } else {
      const segmentAge = unit.dts - this.segmentStart;
      const partAge = unit.dts - this.partStart;
      const timing = this.options;
      if (unit.keyframe && segmentAge >= timing.segmentSeconds * 1000 - TOLERANCE_MS) {
        this.closePart(unit.dts, false);
        this.sink.segmentEnd({ msn: this.msn, duration: segmentAge / 1000, data: this.takeSegment() });
        this.msn++;
        this.partIndex = 0;
        this.beginSegment(unit);
      } else if (this.partFull(partAge, unit.dts)) {
        this.closePart(unit.dts, false);
        this.partIndex++;
        this.partStart = unit.dts;
        this.partIndependent = unit.keyframe;
      }
    }
    this.videoUnits.push(unit);
  }

  /** The part ends before `dts` if the frame there would take it past the part target. */
  private partFull(partAge: number, dts: number): boolean {
    const target = this.options.partSeconds * 1000;
    const previous = this.videoUnits[this.videoUnits.length - 1];
    const frame = previous === undefined ? 0 : dts - previous.dts;
    return partAge >= target - TOLERANCE_MS || partAge + frame > target + TOLERANCE_MS;
  }

  private pushAudio(unit: AccessUnit): void {
    if (this.tracks === null) return;
    if (this.tracks.audio === null) {
      if (this.audio !== null && !this.warnedLateAudio) {
        this.warnedLateAudio = true;
        this.options.onWarning?.('audio started after the first video keyframe: the stream is packaged without audio');
      }
      return;
    }
    this.audioUnits.push(unit);
  }

  private start(first: AccessUnit): void {
    const config: TrackConfig = { video: this.video, audio: this.audio };
    this.tracks = cmafTracks(config);
    this.sink.init(initSegment(this.tracks), config);
    this.beginSegment(first);
  }

  private beginSegment(first: AccessUnit): void {
    this.segmentStart = first.dts;
    this.partStart = first.dts;
    this.partIndependent = true;
    this.segmentWallClock = first.receivedAt ?? (this.options.now ?? Date.now)();
  }

  /** Writes the pending frames before `boundary` (ms) as part `partIndex` of segment `msn`. */
  private closePart(boundary: number, all: boolean): void {
    const tracks = this.tracks!;
    const runs: FragmentTrackRun[] = [];
    if (tracks.video !== null) runs.push({ track: tracks.video, samples: this.videoSamples(boundary) });
    if (tracks.audio !== null) runs.push({ track: tracks.audio, samples: this.audioSamples(boundary, all) });
    const part = {
      msn: this.msn,
      index: this.partIndex,
      duration: (boundary - this.partStart) / 1000,
      independent: this.partIndependent,
      data: fragment(this.sequence++, runs, (this.segmentBytes ??= new BoxWriter(this.nextSegmentBytes))),
    };
    if (this.partIndex !== 0) return this.sink.part(part);
    const discontinuity = this.options.discontinuity === true && this.msn === (this.options.firstMsn ?? 0);
    this.sink.part(discontinuity ? { ...part, programDateTime: this.segmentWallClock, discontinuity } : { ...part, programDateTime: this.segmentWallClock });
  }

  /**
   * The closed segment's bytes: `BoxWriter.finish()` of the buffer its parts were written into (a
   * view, or a copy when that buffer is far bigger than the segment); the next segment starts a new
   * buffer sized from this one.
   */
  private takeSegment(): Buffer {
    const bytes = this.segmentBytes?.finish() ?? Buffer.alloc(0);
    this.segmentBytes = null;
    this.nextSegmentBytes = Math.max(MIN_SEGMENT_BYTES, Math.ceil(bytes.length * 1.25));
    return bytes;
  }

  private videoSamples(boundary: number): FragmentSample[] {
    const units = this.videoUnits;
    this.videoUnits = [];
    return units.map((u, i) => {
      const dts = Math.round(u.dts * 90);
      const next = Math.round((units[i + 1]?.dts ?? boundary) * 90);
      return { dts, duration: Math.max(0, next - dts), compositionOffset: Math.round(u.pts * 90) - dts, sync: u.keyframe, data: u.data };
    });
  }

  private audioSamples(boundary: number, all: boolean): FragmentSample[] {
    const config = this.tracks!.audio!.config;
    const take = all ? this.audioUnits.length : this.audioUnits.findIndex((u) => u.dts >= boundary);
    const units = this.audioUnits.splice(0, take < 0 ? this.audioUnits.length : take);
    const frame = config.samplesPerFrame;
    return units.map((u) => {
      const measured = Math.round((u.dts * config.sampleRate) / 1000);
      const continued = this.nextAudioTime;
      const dts = continued !== null && Math.abs(measured - continued) < frame / 2 ? continued : measured;
      this.nextAudioTime = dts + frame;
      return { dts, duration: frame, compositionOffset: 0, sync: true, data: u.data };
    });
  }
}
