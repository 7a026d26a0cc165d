/**
 * The coordinator's `WorkflowRouter` over the workflow registry: routes a publish to the workflow
 * that owns it, plans a session of that workflow (with the output root and castline's internal
 * RTMP addresses), and forwards the registry's changes by workflow name.
 */
import type { SessionRoute, WorkflowRouter } from '../coordinator/coordinator.types';
import type { SessionPlan } from '../domain/plan';
import type { IngestType, MediaSource } from '../domain/stream';
import type { InternalRtmp } from './internal-rtmp';
import { planSession } from './plan';
import type { WorkflowRegistry } from './registry';

export interface SessionRouterContext {
  /** Root of HLS_FILESYSTEM_PATH (ffmpeg_hls output). */
  hlsRoot: string;
  /** castline's internal RTMP addresses; null when RTMP is off. */
  internal: InternalRtmp | null;
}

export class SessionRouter implements WorkflowRouter {
  constructor(
    private readonly registry: WorkflowRegistry,
    private readonly context: SessionRouterContext,
  ) {}

  route(request: { ingest: IngestType; channel: string; key: string; userIp: string; workflow?: string }): SessionRoute {
    if (request.workflow !== undefined) {
      return this.registry.get(request.workflow) === undefined ? { ok: false, code: 'NO_WORKFLOW', message: 'the workflow is gone' } : { ok: true, workflow: request.workflow };
    }
    const route = this.registry.route(request.ingest, request.channel, request.key, request.userIp);
    if (route.ok) return { ok: true, workflow: route.workflow.name };
    return { ok: false, code: route.reason === 'ip-denied' ? 'IP_DENIED' : 'NO_WORKFLOW', message: route.message };
  }

  plan(workflow: string, session: { channel: string; key: string; streamId: string; source: MediaSource }, pinned: boolean): SessionPlan {
    const definition = this.registry.get(workflow);
    if (definition === undefined) throw new Error(`workflow ${workflow} is gone`);
    return planSession(definition, { ...session, ...this.context, workflow: (name) => this.registry.get(name) }, pinned);
  }

  onChange(listener: (previous: string | null, next: string | null) => void): void {
    this.registry.on('changed', (previous, next) => listener(previous?.name ?? null, next?.name ?? null));
  }
}
