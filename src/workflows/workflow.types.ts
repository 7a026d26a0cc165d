/**
 * Workflows: a named, ordered pipeline of steps that the media of a stream passes through. Every
 * publish belongs to exactly one workflow, chosen by its ingest step. These are the validated,
 * typed forms of what the config format says (`config-format.ts` parses the text).
 */
import type { MediaStep } from '../domain/jobs';

/** `allow_ips=` / `deny_ips=` on an ingest step: raw comma list of IPs and CIDRs. */
export interface IpFilter {
  mode: 'allow' | 'deny';
  list: string;
}

/**
 * Which RTMP listener an `rtmp_receive` / `rtmp_watch` step uses (mmids' `port=` and `rtmps`):
 * `port` null = the default one (RTMP_PORT, or RTMPS_PORT with `tls`).
 */
export interface RtmpListenerSpec {
  port: number | null;
  tls: boolean;
}

export type StepSpec =
  // ── ingest: which publishes belong to this workflow ──
  /** RTMP publishes on `rtmp://host/{rtmpApp}/{key}`; `*` matches any app (the app is the channel) or any key. */
  | { type: 'rtmp_receive'; rtmpApp: string; streamKey: string; ipFilter: IpFilter | null; listener: RtmpListenerSpec; reactor: string | null }
  /** WebSocket publishes on `/{channel}/{key}/publish`; `*` matches any channel. */
  | { type: 'ws_receive'; channel: string; ipFilter: IpFilter | null }
  /** A source pulled rather than published: `location` is published as channel `streamName`. */
  | { type: 'ffmpeg_pull'; location: string; streamName: string }
  // ── session ──
  /** The application's key verification; `url`/`timeoutMs` null = the environment's. */
  | { type: 'verify_key'; url: string | null; timeoutMs: number | null }
  /** The encoder-pool ladder with its coordinator events; null = the defaults (or the verification answer). */
  | { type: 'hls_ladder'; resolutions: string | null; record: boolean | null; previews: string | null }
  // ── media steps (one supervised ffmpeg per stream) ──
  /** HLS copy into `{HLS_FILESYSTEM_PATH}/{path}/{streamName or channel}.m3u8`. */
  | { type: 'ffmpeg_hls'; path: string; durationSeconds: number; count: number; streamName: string | null }
  | { type: 'ffmpeg_push'; target: string }
  /** The transcode job's settings; its output address is worked out per session (plan.ts). */
  | Omit<Extract<MediaStep, { type: 'ffmpeg_transcode' }>, 'output'>
  /** RTMP playback of the stream at `rtmp://host/{rtmpApp}/{streamKey}` (`*` = the publisher's key). */
  | { type: 'rtmp_watch'; rtmpApp: string; streamKey: string; ipFilter: IpFilter | null; listener: RtmpListenerSpec; reactor: string | null }
  /** Media goes on to `targetWorkflow`, or to the workflows `reactor` routes this stream to (exactly one is set). */
  | { type: 'forward_to_workflow'; targetWorkflow: string | null; reactor: string | null };

export type StepType = StepSpec['type'];

export interface StepDefinition {
  /** Deterministic from type + sorted parameters: an unchanged step keeps its id across updates. */
  id: string;
  type: StepType;
  /** The step type as written (mmids' `basic_transcode`, `workflow_forwarder` are aliases). */
  written: string;
  /** The arguments as written: `key=value` → string, bare flag → null. */
  parameters: Record<string, string | null>;
  spec: StepSpec;
  /** 1-based line in the text it came from. */
  line: number;
}

export interface WorkflowDefinition {
  name: string;
  steps: StepDefinition[];
  /** `routed_by_reactor`: in a reactor's answer, the stream is routed (forwarded) to this workflow. */
  routedByReactor: boolean;
  /** Warnings the text gave (ignored arguments, repeated ones), for the PUT answer and the log. */
  warnings: string[];
}

/** A `reactor` block, validated: castline runs the `simple_http` executor. */
export interface ReactorDefinition {
  name: string;
  url: string;
  /** Seconds between re-asks while the stream lives; 0 = ask once. */
  updateIntervalSeconds: number;
}
