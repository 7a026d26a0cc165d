/**
 * What one publish session runs, derived from its workflow: key verification (or none), the HLS
 * ladder (or none), and one supervised ffmpeg job per media step with its input and output worked
 * out. Media flows down the list: a transcode step's output is the input of the steps after it.
 */
import * as path from 'node:path';
import type { MediaStep } from '../domain/jobs';
import type { SessionPlan, PlannedStep } from '../domain/plan';
import type { MediaSource } from '../domain/stream';
import type { InternalRtmp } from './internal-rtmp';
import type { WorkflowDefinition } from './workflow.types';

export interface PlanContext {
  channel: string;
  key: string;
  streamId: string;
  source: MediaSource;
  /** Root of HLS_FILESYSTEM_PATH (ffmpeg_hls paths are inside it). */
  hlsRoot: string;
  /** Internal RTMP addresses for steps that publish into castline's own RTMP server; null when RTMP is off. */
  internal: InternalRtmp | null;
  /** Looks up the target of forward_to_workflow. */
  workflow: (name: string) => WorkflowDefinition | undefined;
}

/** `pinned`: an internal source (ffmpeg_pull) of this workflow — no key verification. */
export function planSession(definition: WorkflowDefinition, ctx: PlanContext, pinned = false): SessionPlan {
  const plan: SessionPlan = { workflow: definition.name, pinned, verify: null, ladder: null, steps: [] };
  addSteps(plan, definition, ctx, ctx.source, new Set([definition.name]), '');
  if (pinned) plan.verify = null;
  return plan;
}

/** Adds a workflow's steps with `input` as the stream entering them; returns the stream leaving them. */
function addSteps(plan: SessionPlan, definition: WorkflowDefinition, ctx: PlanContext, input: MediaSource, seen: Set<string>, prefix: string): void {
  let current = input;
  for (const step of definition.steps) {
    const spec = step.spec;
    const id = prefix + step.id;
    const label = `${definition.name}/${step.type}/${ctx.streamId}`;
    const job = (media: MediaStep): PlannedStep => ({ id, type: step.type, workflow: definition.name, job: { label, input: current.uri, step: media } });
    switch (spec.type) {
      case 'rtmp_receive':
      case 'ws_receive':
      case 'ffmpeg_pull':
        break; // ingest: decided before the session exists
      case 'verify_key':
        if (prefix === '') plan.verify = { url: spec.url, timeoutMs: spec.timeoutMs };
        break;
      case 'hls_ladder':
        if (plan.ladder === null) plan.ladder = { resolutions: spec.resolutions, record: spec.record, previews: spec.previews, source: current };
        break;
      case 'ffmpeg_hls':
        plan.steps.push(job({ type: 'ffmpeg_hls', directory: path.join(ctx.hlsRoot, spec.path), root: ctx.hlsRoot, name: spec.streamName ?? ctx.channel, durationSeconds: spec.durationSeconds, count: spec.count }));
        break;
      case 'ffmpeg_push':
        plan.steps.push(job({ type: 'ffmpeg_push', target: spec.target }));
        break;
      case 'ffmpeg_transcode': {
        if (ctx.internal === null) break;
        const output = ctx.internal.transcodeOutput(ctx.streamId, id);
        plan.steps.push(job({ type: 'ffmpeg_transcode', vcodec: spec.vcodec, acodec: spec.acodec, preset: spec.preset, size: spec.size, kbps: spec.kbps, output: output.publish }));
        current = { type: 'RTMP', uri: output.play };
        break;
      }
      case 'rtmp_watch':
        if (ctx.internal === null) break;
        plan.steps.push(job({ type: 'rtmp_watch', output: ctx.internal.watchOutput(spec.rtmpApp, spec.streamKey === '*' ? ctx.key : spec.streamKey) }));
        break;
      case 'forward_to_workflow': {
        const target = ctx.workflow(spec.targetWorkflow);
        // A missing target, or a loop back into a workflow already on the path, forwards nothing.
        if (target === undefined || seen.has(target.name)) break;
        addSteps(plan, target, ctx, current, new Set([...seen, target.name]), `${id}>`);
        break;
      }
    }
  }
}
