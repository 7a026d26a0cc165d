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
import { assign, createActor, fromCallback, fromPromise, type Actor } from 'xstate';
import type { EncoderActorInput, SessionPlan, StepActorInput, StreamEvent, StreamPolicy, VerifyResult } from '../../actors/stream.events';
import { holdsChannel, isLive, streamMachine, type VerifyInput } from '../../actors/stream.machine';
import type { Encoder, StepRunner } from '../encoding/encoder.types';
import type { InternalRtmp } from '../workflows/internal-rtmp';
import { planSession } from '../workflows/plan';
import type { WorkflowRegistry } from '../workflows/registry';
import type { WorkflowDefinition } from '../workflows/workflow.types';
import type { Logger } from '../logger';
import type {
  CloseReason,
  IngestType,
  OutputAvailable,
  PublishDecision,
  PublishRequest,
  StreamCoordinator,
} from './coordinator.types';
import { isValidName } from './names';
import { newStreamId } from './stream-id';

/**
 * Key verification as the coordinator needs it: decides the session's settings from the plan's
 * verify_key step (none: accepted with the hls_ladder step's or the configured defaults).
 */
export interface SessionVerifier {
  verify(request: { channel: string; key: string; userIp: string }, plan: SessionPlan, signal?: AbortSignal): Promise<VerifyResult>;
}

/** Where stream events go (the durable outbox). Calls must not throw and return at once. */
export interface StreamEventSink {
  streamStarted(channel: string, streamId: string): void;
  available(channel: string, streamId: string, output: OutputAvailable): void;
  closed(channel: string, streamId: string, reason: CloseReason): void;
}

/** An ingest server as listed in the report's `streamingServers`. */
export interface IngestServerInfo {
  id: number;
  ip: string;
  port: number;
  ssl: boolean;
  serverType: IngestType;
}

export interface CoordinatorOptions {
  verifier: SessionVerifier;
  /** Whether the output storage can take a new stream (null: yes); checked on every publish. None: always. */
  storageAdmission?: () => { code: 'STORAGE_FULL' | 'STORAGE_ERROR'; message: string } | null;
  events: StreamEventSink;
  policy: StreamPolicy;
  idMaxLength: number;
  logger: Logger;
  /** Which workflow owns a publish, and what it runs. */
  workflows: WorkflowRegistry;
  /** Runs workflow media steps (the encoder pool); null = none can run. */
  steps: StepRunner | null;
  /** Root of HLS_FILESYSTEM_PATH (ffmpeg_hls output) and castline's internal RTMP addresses (null: RTMP off). */
  planContext: { hlsRoot: string; internal: InternalRtmp | null };
}

export interface Capacity {
  load: number;
  capacity: number;
  encoderCount: number;
}

export interface Report {
  activeStreams: Array<{ channel: string; streamId: string; streamServer: number; encoder: number }>;
  streamingServers: IngestServerInfo[];
  encoders: Array<{ id: number; capacity: number; load: number }>;
}

type StreamActorRef = Actor<typeof streamMachine>;

export class Coordinator implements StreamCoordinator {
  readonly #machine: typeof streamMachine;
  /** The registry: every session not yet finished, by stream id. */
  readonly #actors = new Map<string, StreamActorRef>();
  #shuttingDown = false;
  /** Bumped on every session state change and encoder change: cached answers stay valid while it holds. */
  #version = 0;
  #capacityCache: { version: number; value: Capacity } | null = null;
  readonly #encoders = new Map<number, Encoder>();
  readonly #servers = new Map<number, () => IngestServerInfo>();
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
        verifyKey: fromPromise<VerifyResult, VerifyInput>(({ input, signal }) =>
          options.verifier.verify({ channel: input.channel, key: input.key, userIp: input.userIp }, input.plan, signal),
        ),
        runEncoder: fromCallback<StreamEvent, EncoderActorInput>(({ input, sendBack, receive }) => this.#runEncoder(input, sendBack, receive)),
        runStep: fromCallback<StreamEvent, StepActorInput>(({ input, sendBack, receive }) => this.#runStep(input, sendBack, receive)),
      },
      guards: {
        encoderAvailable: ({ context }) => context.plan.ladder === null || this.#pickEncoder() !== null,
      },
      actions: {
        assignEncoder: assign({ encoderId: ({ context }) => (context.plan.ladder === null ? null : this.#pickEncoder()?.id ?? null) }),
        emitStarted: ({ context }) => events.streamStarted(context.channel, context.streamId),
        emitAvailable: ({ context }, { output }) => events.available(context.channel, context.streamId, output),
        emitClosed: ({ context }) => events.closed(context.channel, context.streamId, context.closeReason ?? 'publisher-disconnected'),
        logClosed: ({ context }) =>
          this.#log.info(
            { ch: context.channel, streamId: context.streamId, reason: context.closeReason, detail: context.closeMessage ?? undefined, outputs: context.outputs, restarts: context.attempt },
            'stream closed',
          ),
      },
    });
    this.#machine = stream;
    options.workflows.on('changed', (previous, next) => this.#onWorkflowChanged(previous, next));
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
    const pinned = request.workflow !== undefined;
    const route = pinned ? pinnedRoute(this.#options.workflows.get(request.workflow!)) : this.#options.workflows.route(request.ingest, channel, key, request.userIp);
    if (!route.ok) return refused(route.reason === 'ip-denied' ? 'IP_DENIED' : 'NO_WORKFLOW', route.message);

    const streamId = newStreamId();
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
        disconnect: request.disconnect,
        policy: this.#options.policy,
        plan: this.#plan(route.workflow, { channel, key, streamId, source: request.source }, pinned),
      },
    });
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
    while (this.#actors.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
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

  /** Registers a session by id and channel until it finishes (or fails: a bug, logged). */
  #register(actor: StreamActorRef): void {
    const { channel, streamId } = actor.getSnapshot().context;
    this.#actors.set(streamId, actor);
    let set = this.#byChannel.get(channel);
    if (set === undefined) this.#byChannel.set(channel, (set = new Set()));
    set.add(actor);
    const drop = () => {
      this.#actors.delete(streamId);
      set.delete(actor);
      if (set.size === 0 && this.#byChannel.get(channel) === set) this.#byChannel.delete(channel);
    };
    actor.subscribe({
      next: () => this.#version++,
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
      if (encoder.capacity >= 0 && load >= encoder.capacity) continue;
      if (load < bestLoad) {
        best = encoder;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Live sessions of a workflow with their media steps' states (for `GET /workflows/{name}`). */
  workflowStreams(workflow: string): Array<{ channel: string; streamId: string; steps: Array<{ step_id: string; status: string }> }> {
    const out: Array<{ channel: string; streamId: string; steps: Array<{ step_id: string; status: string }> }> = [];
    for (const actor of this.#streams()) {
      const snap = actor.getSnapshot();
      if (!isLive(snap.value) || snap.context.plan.workflow !== workflow) continue;
      const steps = Object.entries(snap.context.steps).map(([id, s]) => ({ step_id: id, status: s.state }));
      out.push({ channel: snap.context.channel, streamId: snap.context.streamId, steps });
    }
    return out;
  }

  #plan(definition: WorkflowDefinition, session: { channel: string; key: string; streamId: string; source: PublishRequest['source'] }, pinned: boolean): SessionPlan {
    return planSession(definition, { ...session, ...this.#options.planContext, workflow: (name) => this.#options.workflows.get(name) }, pinned);
  }

  /**
   * A workflow was created, updated or deleted. Sessions of a deleted workflow, or whose publish it
   * no longer receives, are closed (`workflow-removed`); every other live session is re-planned
   * (its new steps start, removed ones stop, unchanged ones keep running) — forwarding targets may
   * have changed too.
   */
  #onWorkflowChanged(previous: WorkflowDefinition | null, next: WorkflowDefinition | null): void {
    for (const actor of [...this.#streams()]) {
      const snap = actor.getSnapshot();
      if (snap.status !== 'active') continue;
      const c = snap.context;
      const route = c.plan.pinned ? pinnedRoute(this.#options.workflows.get(c.plan.workflow)) : this.#options.workflows.route(c.ingest, c.channel, c.key, c.userIp);
      if (!route.ok || route.workflow.name !== c.plan.workflow) {
        // Only the changed workflow loses its sessions; a session another workflow would now
        // receive (say, a new, more specific one) keeps running where it started.
        if (c.plan.workflow === previous?.name || c.plan.workflow === next?.name) {
          this.#log.info({ ch: c.channel, streamId: c.streamId, workflow: c.plan.workflow }, 'workflow no longer receives this stream: closing it');
          actor.send({ type: 'CLOSE_REQUESTED', reason: 'workflow-removed' });
        }
        continue;
      }
      actor.send({ type: 'WORKFLOW_UPDATED', plan: this.#plan(route.workflow, c, c.plan.pinned) });
    }
  }

  #runStep(input: StepActorInput, sendBack: (e: StreamEvent) => void, receive: (l: (e: StreamEvent) => void) => void): () => void {
    const runner = this.#options.steps;
    if (runner === null) {
      sendBack({ type: 'STEP_EXITED', stepId: input.stepId, clean: false, error: { code: 'START_FAILED', message: 'no step runner' } });
      return () => {};
    }
    let exited = false;
    const handle = runner.startStep({ ...input.job, attempt: 0 }, (report) => {
      if (report.type === 'active') sendBack({ type: 'STEP_ACTIVE', stepId: input.stepId });
      else {
        exited = true;
        sendBack({ type: 'STEP_EXITED', stepId: input.stepId, clean: report.clean, error: report.error });
      }
    });
    receive((event) => {
      if (event.type === 'STOP') handle.stop();
    });
    return () => {
      if (!exited) handle.stop();
    };
  }

  #runEncoder(input: EncoderActorInput, sendBack: (e: StreamEvent) => void, receive: (l: (e: StreamEvent) => void) => void): () => void {
    const { attempt } = input;
    const encoder = this.#encoders.get(input.encoderId);
    if (encoder === undefined) {
      sendBack({ type: 'ENCODER_EXITED', attempt, clean: false, error: { code: 'START_FAILED', message: `encoder ${input.encoderId} is gone` } });
      return () => {};
    }
    let exited = false;
    const handle = encoder.start(
      { channel: input.channel, streamId: input.streamId, source: input.source, settings: input.settings, attempt },
      (report) => {
        if (report.type === 'available') {
          sendBack({ type: 'ENCODER_OUTPUT', attempt, output: report.output });
        } else {
          exited = true;
          sendBack({ type: 'ENCODER_EXITED', attempt, clean: report.clean, error: report.error });
        }
      },
    );
    receive((event) => {
      if (event.type === 'STOP') handle.stop();
    });
    return () => {
      if (!exited) handle.stop();
    };
  }
}

function pinnedRoute(workflow: WorkflowDefinition | undefined): ReturnType<WorkflowRegistry['route']> {
  return workflow === undefined ? { ok: false, reason: 'no-workflow', message: 'the workflow is gone' } : { ok: true, workflow };
}

function refused(code: Extract<PublishDecision, { accepted: false }>['code'], message: string): PublishDecision {
  return { accepted: false, code, message };
}
