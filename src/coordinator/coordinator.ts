/**
 * The coordinator — the root of the actor system: creates one stream actor per publish request,
 * registers it by stream id (and indexes it by channel), supplies the actors' effects (key
 * verification, encoders, event outbox), and answers the ingest servers (`StreamCoordinator`) and
 * the commands API (capacity, close, report).
 *
 * There is no second source of truth: which channel is live, each encoder's load, capacity and the
 * report are computed from the stream actors' snapshots. (Stream actors are not `spawnChild`
 * children of an XState root machine because XState copies a parent's children map on every spawn:
 * measured 2.3 ms per publish at 10,000 sessions. See bench/RESULTS.md.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assign, createActor, fromPromise, type Actor } from 'xstate';
import { holdsChannel, isLive, streamMachine, type VerifyInput } from '../../actors/stream.machine';
import type { Encoder } from '../domain/jobs';
import { isValidName } from '../domain/names';
import type { CloseReason, PublishDecision, PublishRequest, VerificationOutcome } from '../domain/stream';
import type { IngestServerInfo, PublishSink } from '../ingest/ingest.types';
import type { Logger } from '../logging/logger';
import { encoderActor, stepActor } from './actor-adapters';
import type { Capacity, ChannelClaims, CoordinatorOptions, Report, WorkflowStream } from './coordinator.types';
import { newStreamId } from './stream-id';

type StreamActorRef = Actor<typeof streamMachine>;

export class Coordinator implements PublishSink {
  readonly #machine: typeof streamMachine;
  /** The registry: every session not yet finished, by stream id. */
  readonly #actors = new Map<string, StreamActorRef>();
  #shuttingDown = false;
  /** Bumped on every session state change and encoder change: cached answers stay valid while it holds. */
  #version = 0;
  #capacityCache: { version: number; value: Capacity } | null = null;
  readonly #encoders = new Map<number, Encoder>();
  readonly #servers = new Map<number, () => IngestServerInfo>();
  /** Each session's way to disconnect its publisher (kept here, not in the actor's context). */
  readonly #disconnects = new Map<string, PublishRequest['disconnect']>();
  /** Index of the root's children by channel (their state is still read from their snapshots). */
  readonly #byChannel = new Map<string, Set<StreamActorRef>>();
  readonly #options: CoordinatorOptions;
  readonly #log: Logger;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#log = options.logger;
    const { events } = options;
    const stream = streamMachine.provide({
      actors: {
        verifyKey: fromPromise<VerificationOutcome, VerifyInput>(({ input, signal }) =>
          options.verifier.verify({ channel: input.channel, key: input.key, userIp: input.userIp }, input.plan, signal),
        ),
        runEncoder: encoderActor(this.#encoders),
        runStep: stepActor(options.steps),
      },
      guards: {
        encoderAvailable: ({ context }) => context.plan.ladder === null || this.#pickEncoder() !== null,
      },
      actions: {
        assignEncoder: assign({ encoderId: ({ context }) => (context.plan.ladder === null ? null : this.#pickEncoder()?.id ?? null) }),
        emitStarted: ({ context }) => events.streamStarted(context.channel, context.streamId),
        emitAvailable: ({ context }, { output }) => events.available(context.channel, context.streamId, output),
        emitClosed: ({ context }) => events.streamClosed(context.channel, context.streamId, context.closeReason ?? 'publisher-disconnected'),
        disconnectPublisher: ({ context }) => this.#disconnects.get(context.streamId)?.(context.closeReason ?? 'close-command'),
        logClosed: ({ context }) =>
          this.#log.info(
            { ch: context.channel, streamId: context.streamId, reason: context.closeReason, detail: context.closeMessage ?? undefined, outputs: context.outputs, restarts: context.attempt },
            'stream closed',
          ),
      },
    });
    this.#machine = stream;
    options.workflows.onChange((previous, next) => this.#onWorkflowChanged(previous, next));
  }

  // ── encoders and ingest servers ────────────────────────────────────────────────────────────

  addEncoder(encoder: Encoder): void {
    this.#encoders.set(encoder.id, encoder);
    this.#version++;
  }

  /** Registers an ingest server for the report; `info` is read each time (ports may be chosen at start). */
  addIngestServer(id: number, info: () => IngestServerInfo): void {
    this.#servers.set(id, info);
  }

  // ── StreamCoordinator (called by ingest) ───────────────────────────────────────────────────

  async publish(request: PublishRequest): Promise<PublishDecision> {
    const { channel, key } = request;
    if (!isValidName(channel, this.#options.idMaxLength)) return refused('INVALID_ID', 'invalid channel');
    if (!isValidName(key, this.#options.idMaxLength)) return refused('INVALID_ID', 'invalid key');
    if (this.#shuttingDown) return refused('SHUTTING_DOWN', 'server shutting down');
    const storage = this.#options.storageAdmission?.() ?? null;
    if (storage !== null) return refused(storage.code, storage.message);
    if (this.#holder(channel) !== null) return refused('CHANNEL_BUSY', `channel ${channel} is already live`);
    const route = this.#options.workflows.route(request);
    if (!route.ok) return refused(route.code, route.message);

    // Without reactors and Redis the answer is immediate (no await: the session registers in this
    // same turn); a reactor is asked first, then a cluster node takes the channel in Redis.
    const streamId = newStreamId();
    const admission = this.#options.workflows.admit(route.workflow, { ...request, streamId }, (why) => this.#endByReactor(streamId, why));
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return refused('KEY_REFUSED', admitted.message);
    const checked = this.#lateRefusal(channel, streamId);
    const late = checked instanceof Promise ? await checked : checked;
    if (late !== null) {
      this.#options.workflows.release(streamId);
      return late;
    }
    const actor = createActor(this.#machine, {
      id: streamId,
      input: {
        streamId,
        channel,
        key,
        userIp: request.userIp,
        ingest: request.ingest,
        serverId: request.serverId,
        source: request.source,
        policy: this.#options.policy,
        plan: this.#options.workflows.plan(route.workflow, { channel, key, streamId, source: request.source }, request.workflow !== undefined),
      },
    });
    this.#disconnects.set(streamId, request.disconnect);
    this.#register(actor);
    actor.start();
    return new Promise<PublishDecision>((resolve) => {
      const decide = (): boolean => {
        const snap = actor.getSnapshot();
        if (snap.value === 'verifying') return false;
        const refusal = snap.context.refusal;
        if (refusal !== null) {
          this.#log.info({ ch: channel, streamId, code: refusal.code, detail: refusal.message }, 'publish refused');
          resolve(refused(refusal.code, refusal.message));
        } else {
          this.#log.info({ ch: channel, streamId, ingest: request.ingest, encoder: snap.context.encoderId }, 'publish accepted');
          resolve({ accepted: true, streamId, settings: snap.context.settings! });
        }
        return true;
      };
      if (decide()) return;
      const sub = actor.subscribe({
        next: () => {
          if (decide()) sub.unsubscribe();
        },
        error: () => resolve(refused('KEY_REFUSED', 'session failed during verification')),
      });
    });
  }

  publisherGone(streamId: string): void {
    this.#stream(streamId)?.send({ type: 'PUBLISHER_GONE' });
  }

  livePublisher(channel: string): { streamId: string; key: string } | null {
    const actor = this.#holder(channel);
    if (actor === null) return null;
    const snap = actor.getSnapshot();
    if (!isLive(snap.value)) return null; // still verifying
    return { streamId: snap.context.streamId, key: snap.context.key };
  }

  // ── commands ──────────────────────────────────────────────────────────────────────────────

  /** Closes one session of a channel, or all of them with `*`. Unknown channel or id: nothing to do. */
  close(channel: string, streamId: string, reason: CloseReason = 'close-command'): void {
    for (const actor of [...(this.#byChannel.get(channel) ?? [])]) {
      if (streamId === '*' || actor.id === streamId) actor.send({ type: 'CLOSE_REQUESTED', reason });
    }
  }

  /** The same object is returned while nothing changed (callers may cache what they derive from it). */
  capacity(): Capacity {
    if (this.#capacityCache?.version === this.#version) return this.#capacityCache.value;
    let load = 0;
    for (const actor of this.#streams()) if (isLive(actor.getSnapshot().value)) load++;
    let capacity = 0;
    for (const encoder of this.#encoders.values()) {
      if (encoder.capacity < 0) {
        capacity = -1;
        break;
      }
      capacity += encoder.capacity;
    }
    const value = { load, capacity, encoderCount: this.#encoders.size };
    this.#capacityCache = { version: this.#version, value };
    return value;
  }

  report(): Report {
    const activeStreams: Report['activeStreams'] = [];
    const loads = this.#loads();
    for (const actor of this.#streams()) {
      const snap = actor.getSnapshot();
      if (!isLive(snap.value)) continue;
      const c = snap.context;
      activeStreams.push({ channel: c.channel, streamId: c.streamId, streamServer: c.serverId, encoder: c.encoderId ?? -1 });
    }
    return {
      activeStreams,
      streamingServers: [...this.#servers.values()].map((info) => info()),
      encoders: [...this.#encoders.values()].map((e) => ({ id: e.id, capacity: e.capacity, load: loads.get(e.id) ?? 0 })),
    };
  }

  /** Sessions by state: `verifying`, or the live sub-state (`encoding`, `available`, `restarting`, `ending`). */
  sessionStates(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const actor of this.#streams()) {
      const value: unknown = actor.getSnapshot().value;
      const state = typeof value === 'string' ? value : isLive(value) ? String((value as { live: unknown }).live) : 'other';
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    return counts;
  }

  /** Number of sessions the coordinator holds (any state). */
  sessionCount(): number {
    return this.#actors.size;
  }

  /**
   * Graceful shutdown: refuses new publishes, ends every session (publishers disconnected, encoders
   * flushed, `stream-closed` queued), waits up to `timeoutMs` for them, then stops the root actor.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.#shuttingDown = true;
    for (const actor of [...this.#actors.values()]) actor.send({ type: 'SHUTDOWN' });
    const deadline = Date.now() + timeoutMs;
    while (this.#actors.size > 0 && Date.now() < deadline) await sleep(20);
    if (this.#actors.size > 0) this.#log.warn({ sessions: this.#actors.size }, 'shutdown timeout: stopping sessions that did not finish');
    for (const actor of [...this.#actors.values()]) actor.stop();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  #streams(): IterableIterator<StreamActorRef> {
    return this.#actors.values();
  }

  #stream(streamId: string): StreamActorRef | undefined {
    return this.#actors.get(streamId);
  }

  /**
   * A new stream id with the channel taken cluster-wide for it. Another id is drawn if the
   * cluster has seen this one.
   */
  /**
   * Checked after the awaits of admission: shut down or taken here meanwhile; in cluster mode the
   * channel is then taken in Redis with this stream id (and the cluster encoders' free capacity
   * refreshed). Null: go on.
   */
  #lateRefusal(channel: string, streamId: string): PublishDecision | null | Promise<PublishDecision | null> {
    const here = (): PublishDecision | null =>
      this.#shuttingDown ? refused('SHUTTING_DOWN', 'server shutting down') : this.#holder(channel) !== null ? refused('CHANNEL_BUSY', `channel ${channel} is already live`) : null;
    const claims = this.#options.claims;
    if (here() !== null || claims === undefined) return here();
    return this.#takeInCluster(channel, streamId, claims, here);
  }

  async #takeInCluster(channel: string, streamId: string, claims: ChannelClaims, here: () => PublishDecision | null): Promise<PublishDecision | null> {
    const [outcome] = await Promise.all([claims.take(channel, streamId), ...[...this.#encoders.values()].map((e) => e.refresh?.())]);
    if (outcome === 'busy') return refused('CHANNEL_BUSY', `channel ${channel} is already live on another node`);
    if (outcome === 'unavailable') return refused('CLUSTER_UNAVAILABLE', 'the cluster store (Redis) is unavailable: new publishes are refused until it is back');
    if (outcome === 'id-taken') return refused('CLUSTER_UNAVAILABLE', 'the stream id is already reserved in the cluster (a collision): publish again');
    const late = here(); // shut down or taken here while Redis answered
    if (late !== null) claims.release(channel, streamId);
    return late;
  }

  /** Registers a session by id and channel until it finishes (or fails: a bug, logged). */
  #register(actor: StreamActorRef): void {
    const { channel, streamId } = actor.getSnapshot().context;
    this.#actors.set(streamId, actor);
    let set = this.#byChannel.get(channel);
    if (set === undefined) this.#byChannel.set(channel, (set = new Set()));
    set.add(actor);
    const drop = () => {
      this.#options.workflows.release(streamId);
      claims?.release(channel, streamId);
      this.#actors.delete(streamId);
      this.#disconnects.delete(streamId);
      set.delete(actor);
      if (set.size === 0 && this.#byChannel.get(channel) === set) this.#byChannel.delete(channel);
    };
    const claims = this.#options.claims;
    actor.subscribe({
      next: (snap) => {
        this.#version++;
        // The channel is free again once the session stops holding it (ending: flushing only).
        if (claims !== undefined && snap.status === 'active' && !holdsChannel(snap.value)) claims.release(channel, streamId);
      },
      complete: () => {
        this.#version++;
        drop();
      },
      error: (err) => {
        this.#log.error({ err, ch: channel, streamId }, 'stream actor failed');
        this.#version++;
        drop();
      },
    });
  }

  /** The session holding a channel (publisher connected: verifying or live), if any. */
  #holder(channel: string): StreamActorRef | null {
    for (const actor of this.#byChannel.get(channel) ?? []) {
      const snap = actor.getSnapshot();
      if (snap.status === 'active' && holdsChannel(snap.value)) return actor;
    }
    return null;
  }

  #loads(): Map<number, number> {
    const loads = new Map<number, number>();
    for (const actor of this.#streams()) {
      const snap = actor.getSnapshot();
      if (isLive(snap.value) && snap.context.encoderId !== null) {
        loads.set(snap.context.encoderId, (loads.get(snap.context.encoderId) ?? 0) + 1);
      }
    }
    return loads;
  }

  /** The least-loaded encoder below its capacity, or null. */
  #pickEncoder(): Encoder | null {
    const loads = this.#loads();
    let best: Encoder | null = null;
    let bestLoad = Infinity;
    for (const encoder of this.#encoders.values()) {
      const load = loads.get(encoder.id) ?? 0;
      if (encoder.hasRoom !== undefined ? !encoder.hasRoom() : encoder.capacity >= 0 && load >= encoder.capacity) continue;
      if (load < bestLoad) {
        best = encoder;
        bestLoad = load;
      }
    }
    return best;
  }

  /** A reactor stopped accepting a live stream: it is closed like a removed workflow's. */
  #endByReactor(streamId: string, why: string): void {
    const actor = this.#stream(streamId);
    if (actor === undefined || actor.getSnapshot().status !== 'active') return;
    this.#log.info({ streamId, why }, 'reactor ended the stream');
    actor.send({ type: 'CLOSE_REQUESTED', reason: 'workflow-removed' });
  }

  /** Live sessions of a workflow with their media steps' states (for `GET /workflows/{name}`). */
  workflowStreams(workflow: string): WorkflowStream[] {
    const out: WorkflowStream[] = [];
    for (const actor of this.#streams()) {
      const snap = actor.getSnapshot();
      if (!isLive(snap.value) || snap.context.plan.workflow !== workflow) continue;
      const steps = Object.entries(snap.context.steps).map(([id, s]) => ({ step_id: id, status: s.state }));
      out.push({ channel: snap.context.channel, streamId: snap.context.streamId, steps });
    }
    return out;
  }

  /**
   * A workflow was created, updated or deleted. Sessions of a deleted workflow, or whose publish it
   * no longer receives, are closed (`workflow-removed`); every other live session is re-planned
   * (its new steps start, removed ones stop, unchanged ones keep running) — forwarding targets may
   * have changed too.
   */
  #onWorkflowChanged(previous: string | null, next: string | null): void {
    for (const actor of [...this.#streams()]) {
      const snap = actor.getSnapshot();
      if (snap.status !== 'active') continue;
      const c = snap.context;
      const route = this.#options.workflows.route({ ...c, workflow: c.plan.pinned ? c.plan.workflow : undefined });
      if (!route.ok || route.workflow !== c.plan.workflow) {
        // Only the changed workflow loses its sessions; a session another workflow would now
        // receive (say, a new, more specific one) keeps running where it started.
        if (c.plan.workflow === previous || c.plan.workflow === next) {
          this.#log.info({ ch: c.channel, streamId: c.streamId, workflow: c.plan.workflow }, 'workflow no longer receives this stream: closing it');
          actor.send({ type: 'CLOSE_REQUESTED', reason: 'workflow-removed' });
        }
        continue;
      }
      actor.send({ type: 'WORKFLOW_UPDATED', plan: this.#options.workflows.plan(route.workflow, c, c.plan.pinned) });
    }
  }
}

function refused(code: Extract<PublishDecision, { accepted: false }>['code'], message: string): PublishDecision {
  return { accepted: false, code, message };
}
