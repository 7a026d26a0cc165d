/**
 * One CMAF fragment (`moof` + `mdat`, ISO/IEC 14496-12 §8.8): what one LL-HLS part is. Each track
 * with samples gets a `traf` with `tfhd` (default-base-is-moof), `tfdt` (decode time of its first
 * sample) and a version-1 `trun` (signed composition offsets). Pure.
 */
import { BoxWriter } from './box-writer';
import type { CmafTrack } from './cmaf-tracks';

/** One sample in the track's timescale. */
export interface FragmentSample {
  /** Decode time, track timescale. */
  dts: number;
  duration: number;
  /** pts − dts, track timescale. */
  compositionOffset: number;
  sync: boolean;
  data: Uint8Array;
}

export interface FragmentTrackRun {
  track: CmafTrack;
  samples: readonly FragmentSample[];
}

const SYNC_FLAGS = 0x02000000; // sample_depends_on = 2 (no other sample)
const NON_SYNC_FLAGS = 0x01010000; // sample_depends_on = 1, sample_is_non_sync_sample

/**
 * @param into a writer to append the fragment to (a whole segment in one buffer); the result is then a view of it
 */
export function fragment(sequenceNumber: number, runs: readonly FragmentTrackRun[], into?: BoxWriter): Buffer {
  const present = runs.filter((r) => r.samples.length > 0);
  let payload = 0;
  let entries = 0;
  for (const r of present) {
    entries += r.samples.length;
    for (const sample of r.samples) payload += sample.data.length;
  }
  // moof: 8 + mfhd 16 + per traf ≤ 8 + tfhd 16 + tfdt 20 + trun 20 ; 16 bytes per sample; mdat header 8.
  const w = into ?? new BoxWriter(24 + present.length * 64 + entries * 16 + 8 + payload);
  const start = w.position;
  w.open('moof');
  w.openFull('mfhd', 0, 0).u32(sequenceNumber).close();
  const offsetFields: number[] = [];
  for (const run of present) offsetFields.push(traf(w, run));
  w.close();
  const moofSize = w.position - start;
  let dataOffset = moofSize + 8;
  present.forEach((run, i) => {
    w.patchU32(offsetFields[i]!, dataOffset);
    for (const s of run.samples) dataOffset += s.data.length;
  });
  w.open('mdat');
  for (const run of present) for (const s of run.samples) w.bytes(s.data);
  w.close();
  return into === undefined ? w.finish() : w.view(start);
}

/** Writes one `traf`; returns where its `trun` data offset is, to be patched. */
function traf(w: BoxWriter, run: FragmentTrackRun): number {
  const video = run.track.kind === 'video';
  w.open('traf');
  w.openFull('tfhd', 0, 0x020000).u32(run.track.id).close();
  w.openFull('tfdt', 1, 0).u64(run.samples[0]!.dts).close();
  // data-offset, duration, size, [flags, composition offset]
  const flags = 0x000001 | 0x000100 | 0x000200 | (video ? 0x000400 | 0x000800 : 0);
  w.openFull('trun', 1, flags).u32(run.samples.length);
  const offsetField = w.position;
  w.u32(0);
  for (const s of run.samples) {
    w.u32(s.duration).u32(s.data.length);
    if (video) w.u32(s.sync ? SYNC_FLAGS : NON_SYNC_FLAGS).i32(s.compositionOffset);
  }
  w.close().close();
  return offsetField;
}
