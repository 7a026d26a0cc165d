/**
 * The coordinator's `WorkflowRouter` over the workflow registry: routes a publish to the workflow
 * that owns it, asks the workflow's reactors about the stream (`admit`), plans a session of that
 * workflow (with the output root, castline's internal RTMP addresses and the reactors' routes),
 * and forwards the registry's changes by workflow name.
 *
 * Reactors: the `reactor=` of the ingest step that received the publish decides whether the
 * stream is accepted (mmids: a "not valid" answer disconnects it); a `forward_to_workflow
 * reactor=` step sends the media to the workflows the answer marks `routed_by_reactor` (not
 * valid: it forwards nothing). One question per stream and reactor, shared by its steps.
 */
import type { Admission, SessionRoute, WorkflowRouter } from '../coordinator/coordinator.types';
import type { SessionPlan } from '../domain/plan';
import type { IngestType, MediaSource } from '../domain/stream';
import type { Logger } from '../logging/logger';
import type { InternalRtmp } from './internal-rtmp';
import { planSession } from './plan';
import type { ReactorClient } from './reactor-client';
import { ReactorLease } from './reactor-lease';
import type { WorkflowRegistry } from './registry';

export interface SessionRouterContext {
  /** Root of HLS_FILESYSTEM_PATH (ffmpeg_hls output). */
  hlsRoot: string;
  /** castline's internal RTMP addresses; null when RTMP is off. */
  internal: InternalRtmp | null;
  /** Asks reactors; null = reactors are never asked (a stream of a reactor step is then refused). */
  reactors?: { client: ReactorClient; logger: Logger } | null;
}

type Listener = (previous: string | null, next: string | null) => void;

export class SessionRouter implements WorkflowRouter {
  /** Each admitted session's reactor questions, by reactor name. */
  readonly #leases = new Map<string, Map<string, ReactorLease>>();
  readonly #listeners: Listener[] = [];

  constructor(
    private readonly registry: WorkflowRegistry,
    private readonly context: SessionRouterContext,
  ) {
    registry.on('changed', (previous, next) => this.#notify(previous?.name ?? null, next?.name ?? null));
  }

  route(request: { ingest: IngestType; channel: string; key: string; userIp: string; workflow?: string; listener?: string }): SessionRoute {
    if (request.workflow !== undefined) {
      return this.registry.get(request.workflow) === undefined ? { ok: false, code: 'NO_WORKFLOW', message: 'the workflow is gone' } : { ok: true, workflow: request.workflow };
    }
    const route = this.registry.route(request.ingest, request.channel, request.key, request.userIp, request.listener);
    if (route.ok) return { ok: true, workflow: route.workflow.name };
    return { ok: false, code: route.reason === 'ip-denied' ? 'IP_DENIED' : 'NO_WORKFLOW', message: route.message };
  }

  /** Immediate when the workflow has no reactor step; otherwise once the reactors answered. */
  admit(
    workflow: string,
    session: { ingest: IngestType; channel: string; key: string; userIp: string; streamId: string; listener?: string },
    end: (why: string) => void,
  ): Admission | Promise<Admission> {
    const definition = this.registry.get(workflow);
    if (definition === undefined || !definition.steps.some((s) => 'reactor' in s.spec && s.spec.reactor !== null)) return { ok: true };
    const route = this.registry.route(session.ingest, session.channel, session.key, session.userIp, session.listener);
    const ingestReactor = route.ok && route.workflow.name === workflow && 'reactor' in route.step.spec ? route.step.spec.reactor : null;
    const names = new Set<string>(ingestReactor === null ? [] : [ingestReactor]);
    for (const step of definition.steps) if (step.spec.type === 'forward_to_workflow' && step.spec.reactor !== null) names.add(step.spec.reactor);
    if (names.size === 0) return { ok: true };
    return this.#ask([...names], ingestReactor, session, end);
  }

  async #ask(names: string[], ingestReactor: string | null, session: { key: string; streamId: string }, end: (why: string) => void): Promise<Admission> {
    const leases = new Map<string, ReactorLease>();
    this.#leases.set(session.streamId, leases);
    const answers = await Promise.all(names.map(async (name) => {
      const lease = this.lease(name, session.key, session.streamId, {
        revoked: (why) => (name === ingestReactor ? end(why) : this.#notify(null, null)),
        rerouted: () => this.#notify(null, null),
      });
      if (lease === null) return { name, answer: { valid: false as const, why: `reactor ${name} is not defined` } };
      leases.set(name, lease);
      return { name, answer: await lease.start() };
    }));
    const refusal = answers.find((a) => a.name === ingestReactor && !a.answer.valid);
    if (refusal !== undefined && !refusal.answer.valid) {
      this.release(session.streamId);
      return { ok: false, message: refusal.answer.why };
    }
    if (!this.#leases.has(session.streamId)) return { ok: false, message: 'the stream ended before the reactor answered' };
    return { ok: true };
  }

  /** A question to reactor `name` about `streamName` for `holder` (a session, or a player group); null if no such reactor. */
  lease(name: string, streamName: string, holder: string, events: ConstructorParameters<typeof ReactorLease>[4]): ReactorLease | null {
    const reactor = this.registry.reactor(name);
    const deps = this.context.reactors;
    if (reactor === undefined || deps === undefined || deps === null) return null;
    return new ReactorLease(`${name}:${holder}`, reactor, streamName, { registry: this.registry, client: deps.client, logger: deps.logger }, events);
  }

  release(streamId: string): void {
    const leases = this.#leases.get(streamId);
    if (leases === undefined) return;
    this.#leases.delete(streamId);
    for (const lease of leases.values()) lease.release();
  }

  plan(workflow: string, session: { channel: string; key: string; streamId: string; source: MediaSource }, pinned: boolean): SessionPlan {
    const definition = this.registry.get(workflow);
    if (definition === undefined) throw new Error(`workflow ${workflow} is gone`);
    const leases = this.#leases.get(session.streamId);
    return planSession(definition, {
      ...session,
      hlsRoot: this.context.hlsRoot,
      internal: this.context.internal,
      workflow: (name) => this.registry.get(name),
      routed: (reactor) => leases?.get(reactor)?.routed ?? [],
    }, pinned);
  }

  onChange(listener: Listener): void {
    this.#listeners.push(listener);
  }

  #notify(previous: string | null, next: string | null): void {
    for (const listener of this.#listeners) listener(previous, next);
  }
}
