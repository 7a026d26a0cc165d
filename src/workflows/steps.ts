/**
 * Step types and their arguments: turns a parsed step line into a typed, validated
 * `StepDefinition`, or a `WorkflowError` naming the line and what is wrong. Validation is complete
 * and synchronous (unlike the reference, which accepts anything and fails later).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { StepNode } from '../config/config-format';
import { parsePreviews, parseRecord, validateSettingsDefaults } from '../config/stream-settings';
import { CastlineError } from '../domain/errors';
import { parseAllowlist } from '../net/ip';
import type { IpFilter, RtmpListenerSpec, StepDefinition, StepSpec, StepType } from './workflow.types';

export class WorkflowError extends CastlineError {
  constructor(readonly line: number, readonly column: number, detail: string) {
    super('BAD_REQUEST', line > 0 ? `line ${line}, column ${column}: ${detail}` : detail);
    this.name = 'WorkflowError';
  }
}

const NAME = /^[A-Za-z0-9_-]+$/;
const WORKFLOW_NAME = /^[A-Za-z0-9_.-]+$/;
const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];

type Params = Record<string, string | null>;

interface StepRule {
  /** Every argument the step accepts. */
  args: readonly string[];
  build(p: StepArguments): StepSpec;
}

/** Reads one step's arguments, failing with the step's line on anything wrong. */
class StepArguments {
  constructor(readonly node: StepNode, readonly params: Params) {}

  fail(detail: string): never {
    throw new WorkflowError(this.node.line, this.node.column, `${this.node.type}: ${detail}`);
  }

  optional(key: string): string | null {
    if (!(key in this.params)) return null;
    const value = this.params[key];
    if (value === null || value.trim() === '') this.fail(`'${key}' needs a value (${key}=...)`);
    return value.trim();
  }

  required(key: string): string {
    const value = this.optional(key);
    if (value === null) this.fail(`'${key}' is required`);
    return value;
  }

  /** A channel/app/key name, or `*` when allowed. */
  name(key: string, value: string, wildcard: boolean): string {
    if (wildcard && value === '*') return value;
    if (!NAME.test(value)) this.fail(`'${key}' must be ${wildcard ? '* or ' : ''}letters, digits, _ and - (got '${value}')`);
    return value;
  }

  integer(key: string, value: string | null, min: number, max: number, fallback: number): number {
    if (value === null) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) this.fail(`'${key}' must be a whole number from ${min} to ${max} (got '${value}')`);
    return Number(value);
  }

  url(key: string, value: string, schemes: readonly string[]): string {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.fail(`'${key}' must be a ${schemes.join(' or ')} URL (got '${value}')`);
    }
    if (!schemes.includes(url.protocol.replace(/:$/, ''))) this.fail(`'${key}' must be a ${schemes.join(' or ')} URL (got '${value}')`);
    return value;
  }

  /** `port=` and the `rtmps` flag (mmids): which RTMP listener the step uses. */
  listener(): RtmpListenerSpec {
    const port = this.optional('port');
    const tls = 'rtmps' in this.params;
    if (tls && this.params.rtmps !== null) this.fail(`'rtmps' is a flag and takes no value`);
    return { port: port === null ? null : this.integer('port', port, 1, 65535, 0), tls };
  }

  /** `reactor=NAME`: the reactor asked about each stream (it must be defined; checked with the other blocks). */
  reactor(): string | null {
    const name = this.optional('reactor');
    if (name !== null && !NAME.test(name)) this.fail(`'reactor' must be a reactor name (got '${name}')`);
    return name;
  }

  ipFilter(): IpFilter | null {
    const allow = this.optional('allow_ips');
    const deny = this.optional('deny_ips');
    if (allow !== null && deny !== null) this.fail('allow_ips and deny_ips cannot both be given');
    const list = allow ?? deny;
    if (list === null) return null;
    const parsed = parseAllowlist(list);
    if (parsed.invalid.length > 0) this.fail(`not an IP address or CIDR: ${parsed.invalid.join(', ')}`);
    return { mode: allow !== null ? 'allow' : 'deny', list };
  }
}

const RULES: Record<StepType, StepRule> = {
  rtmp_receive: {
    args: ['rtmp_app', 'stream_key', 'allow_ips', 'deny_ips', 'port', 'rtmps', 'reactor'],
    build: (r) => ({
      type: 'rtmp_receive',
      rtmpApp: r.name('rtmp_app', r.required('rtmp_app'), true),
      streamKey: r.name('stream_key', r.required('stream_key'), true),
      ipFilter: r.ipFilter(),
      listener: r.listener(),
      reactor: r.reactor(),
    }),
  },
  ws_receive: {
    args: ['channel', 'allow_ips', 'deny_ips'],
    build: (r) => ({ type: 'ws_receive', channel: r.name('channel', r.required('channel'), true), ipFilter: r.ipFilter() }),
  },
  ffmpeg_pull: {
    args: ['location', 'stream_name'],
    build: (r) => ({ type: 'ffmpeg_pull', location: r.required('location'), streamName: r.name('stream_name', r.required('stream_name'), false) }),
  },
  verify_key: {
    args: ['url', 'timeout'],
    build: (r) => {
      const url = r.optional('url');
      const timeout = r.optional('timeout');
      if (timeout !== null && !(/^\d+(\.\d+)?$/.test(timeout) && Number(timeout) > 0 && Number(timeout) <= 300)) {
        r.fail(`'timeout' must be a number of seconds from 0.1 to 300 (got '${timeout}')`);
      }
      return { type: 'verify_key', url: url === null ? null : r.url('url', url, ['http', 'https']), timeoutMs: timeout === null ? null : Math.round(Number(timeout) * 1000) };
    },
  },
  hls_ladder: {
    args: ['resolutions', 'record', 'previews'],
    build: (r) => {
      const resolutions = r.optional('resolutions');
      const record = r.optional('record');
      const previews = r.optional('previews');
      const problems = validateSettingsDefaults({ resolutions: resolutions ?? 'ORIGINAL', previews: previews ?? 'False' });
      if (problems.length > 0) r.fail(problems.map((p) => p.replace(/^DEFAULT_RESOLUTIONS/, 'resolutions').replace(/^DEFAULT_PREVIEWS/, 'previews')).join('; '));
      if (previews !== null && parsePreviews(previews).warnings.length > 0) r.fail(`'previews' must be {W}x{H},{SECONDS} or False (got '${previews}')`);
      let recordValue: boolean | null = null;
      if (record !== null) {
        const parsed = parseRecord(record);
        if (parsed.warnings.length > 0) r.fail(`'record' must be true or false (got '${record}')`);
        recordValue = parsed.value;
      }
      return { type: 'hls_ladder', resolutions, record: recordValue, previews };
    },
  },
  ffmpeg_hls: {
    args: ['path', 'duration', 'count', 'stream_name'],
    build: (r) => {
      const dir = r.required('path');
      const normalized = path.posix.normalize(dir.replace(/\\/g, '/')).replace(/^\/+/, '');
      if (normalized === '..' || normalized.startsWith('../') || normalized.split('/').some((p) => p !== '' && !/^[A-Za-z0-9_.-]+$/.test(p))) {
        r.fail(`'path' must be a folder inside HLS_FILESYSTEM_PATH, written with letters, digits, _ . - and / (got '${dir}')`);
      }
      const streamName = r.optional('stream_name');
      return {
        type: 'ffmpeg_hls',
        path: normalized === '.' ? '' : normalized,
        durationSeconds: r.integer('duration', r.optional('duration'), 1, 60, 2),
        count: r.integer('count', r.optional('count'), 0, 100_000, 0),
        streamName: streamName === null ? null : r.name('stream_name', streamName, false),
      };
    },
  },
  ffmpeg_push: {
    args: ['target'],
    build: (r) => ({ type: 'ffmpeg_push', target: r.url('target', r.required('target'), ['rtmp', 'rtmps']) }),
  },
  ffmpeg_transcode: {
    args: ['vcodec', 'acodec', 'h264_preset', 'size', 'kbps'],
    build: (r) => {
      const vcodec = r.required('vcodec').toLowerCase();
      const acodec = r.required('acodec').toLowerCase();
      if (vcodec !== 'copy' && vcodec !== 'h264') r.fail(`'vcodec' must be copy or h264 (got '${vcodec}')`);
      if (acodec !== 'copy' && acodec !== 'aac') r.fail(`'acodec' must be copy or aac (got '${acodec}')`);
      const preset = (r.optional('h264_preset') ?? 'veryfast').toLowerCase();
      if (!PRESETS.includes(preset)) r.fail(`'h264_preset' must be one of ${PRESETS.join(', ')} (got '${preset}')`);
      const sizeRaw = r.optional('size');
      let size: { width: number; height: number } | null = null;
      if (sizeRaw !== null) {
        const m = /^(\d{1,5})x(\d{1,5})$/.exec(sizeRaw);
        if (m === null || Number(m[1]) < 2 || Number(m[2]) < 2 || Number(m[1]) > 16384 || Number(m[2]) > 16384) return r.fail(`'size' must be {width}x{height} (got '${sizeRaw}')`);
        size = { width: Number(m[1]), height: Number(m[2]) };
      }
      const kbpsRaw = r.optional('kbps');
      const kbps = kbpsRaw === null ? null : r.integer('kbps', kbpsRaw, 1, 1_000_000, 0);
      if (vcodec === 'copy' && (size !== null || kbps !== null)) r.fail(`'size' and 'kbps' need vcodec=h264`);
      return { type: 'ffmpeg_transcode', vcodec, acodec, preset, size, kbps } as StepSpec;
    },
  },
  rtmp_watch: {
    args: ['rtmp_app', 'stream_key', 'allow_ips', 'deny_ips', 'port', 'rtmps', 'reactor'],
    build: (r) => ({
      type: 'rtmp_watch',
      rtmpApp: r.name('rtmp_app', r.required('rtmp_app'), false),
      streamKey: r.name('stream_key', r.required('stream_key'), true),
      ipFilter: r.ipFilter(),
      listener: r.listener(),
      reactor: r.reactor(),
    }),
  },
  forward_to_workflow: {
    args: ['target_workflow', 'reactor'],
    build: (r) => {
      const target = r.optional('target_workflow');
      const reactor = r.reactor();
      if ((target === null) === (reactor === null)) r.fail(`give either 'target_workflow' or 'reactor'`);
      if (target !== null && !WORKFLOW_NAME.test(target)) r.fail(`'target_workflow' must be a workflow name (got '${target}')`);
      return { type: 'forward_to_workflow', targetWorkflow: target, reactor };
    },
  },
};

/**
 * mmids' `basic_transcode` (its gstreamer step), mapped onto the ffmpeg transcode: `audio=avenc_aac|copy`,
 * `video=x264|copy`, `video_width` + `video_height`, `video_fps`, `video_preset` (x264 preset),
 * `audio_bitrate` in bit/s, `video_bitrate` in kbit/s.
 */
const BASIC_TRANSCODE: StepRule = {
  args: ['audio', 'video', 'video_width', 'video_height', 'video_fps', 'video_preset', 'audio_bitrate', 'video_bitrate'],
  build: (r) => {
    const audio = (r.optional('audio') ?? 'copy').toLowerCase();
    const video = (r.optional('video') ?? 'copy').toLowerCase();
    if (audio !== 'copy' && audio !== 'avenc_aac') r.fail(`'audio' must be avenc_aac or copy (got '${audio}')`);
    if (video !== 'copy' && video !== 'x264') r.fail(`'video' must be x264 or copy (got '${video}')`);
    const width = r.optional('video_width');
    const height = r.optional('video_height');
    if ((width === null) !== (height === null)) r.fail(`'video_width' and 'video_height' go together`);
    const size = width === null ? null : { width: r.integer('video_width', width, 2, 16384, 0), height: r.integer('video_height', height, 2, 16384, 0) };
    const fps = r.optional('video_fps');
    const preset = (r.optional('video_preset') ?? 'veryfast').toLowerCase();
    if (!PRESETS.includes(preset)) r.fail(`'video_preset' must be one of ${PRESETS.join(', ')} (got '${preset}')`);
    const audioBits = r.optional('audio_bitrate');
    const videoKbps = r.optional('video_bitrate');
    const encodes = video === 'x264';
    if (!encodes && (size !== null || fps !== null || videoKbps !== null)) r.fail(`'video_width', 'video_height', 'video_fps' and 'video_bitrate' need video=x264`);
    if (audio === 'copy' && audioBits !== null) r.fail(`'audio_bitrate' needs audio=avenc_aac`);
    return {
      type: 'ffmpeg_transcode',
      vcodec: encodes ? 'h264' : 'copy',
      acodec: audio === 'copy' ? 'copy' : 'aac',
      preset,
      size,
      kbps: videoKbps === null ? null : r.integer('video_bitrate', videoKbps, 1, 1_000_000, 0),
      fps: fps === null ? null : r.integer('video_fps', fps, 1, 240, 0),
      audioKbps: audioBits === null ? null : Math.max(1, Math.round(r.integer('audio_bitrate', audioBits, 1000, 10_000_000, 0) / 1000)),
    };
  },
};

/** Step types by the name written: castline's, and mmids' names for the same steps. */
const WRITTEN: Record<string, StepRule> = { ...RULES, basic_transcode: BASIC_TRANSCODE, workflow_forwarder: RULES.forward_to_workflow };

export const STEP_TYPES = Object.keys(WRITTEN);

/**
 * Validates one step line. As in mmids, an unknown argument is ignored and a repeated one takes
 * its last value; each adds a warning to `warnings`.
 */
export function defineStep(node: StepNode, warnings: string[] = []): StepDefinition {
  const rule = WRITTEN[node.type];
  if (rule === undefined) {
    throw new WorkflowError(node.line, node.column, `unknown step type '${node.type}' (known: ${STEP_TYPES.join(', ')})`);
  }
  const params: Params = {};
  const used: Params = {};
  for (const arg of node.args) {
    const where = `line ${arg.line}, column ${arg.column}: ${node.type}`;
    if (arg.key in params) warnings.push(`${where}: '${arg.key}' is given more than once: the last value is used`);
    params[arg.key] = arg.value;
    if (rule.args.includes(arg.key)) used[arg.key] = arg.value;
    else warnings.push(`${where}: unknown argument '${arg.key}' ignored (accepted: ${rule.args.join(', ') || 'none'})`);
  }
  const spec = rule.build(new StepArguments(node, used));
  return { id: stepId(node.type, params), type: spec.type, written: node.type, parameters: params, spec, line: node.line };
}

/** Deterministic step id: a hash of the type and the sorted parameters. */
export function stepId(type: string, params: Params): string {
  const canonical = JSON.stringify([type, Object.keys(params).sort().map((k) => [k, params[k]])]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
