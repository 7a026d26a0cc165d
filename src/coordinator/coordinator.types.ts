/**
 * The coordinator's contract: what it needs (ports it declares — key verification, the event
 * sink, the workflow router, encoders) and what it answers (capacity, report). Ingest servers talk
 * to it through the `PublishSink` they declare (src/ingest/ingest.types.ts).
 */
import type { StreamPolicy } from '../../actors/stream.events';
import type { Encoder, StepRunner } from '../domain/jobs';
import type { OutputAvailable } from '../domain/outputs';
import type { SessionPlan } from '../domain/plan';
import type { CloseReason, IngestType, MediaSource, VerificationOutcome } from '../domain/stream';
import type { IngestServerInfo } from '../ingest/ingest.types';
import type { Logger } from '../logging/logger';

/**
 * Key verification as the coordinator needs it: decides the session's settings from the plan's
 * verify_key step (none: accepted with the hls_ladder step's or the configured defaults).
 */
export interface SessionVerifier {
  verify(request: { channel: string; key: string; userIp: string }, plan: SessionPlan, signal?: AbortSignal): Promise<VerificationOutcome>;
}

/** Where stream events go (the durable outbox). Calls must not throw and return at once. */
export interface StreamEventSink {
  streamStarted(channel: string, streamId: string): void;
  available(channel: string, streamId: string, output: OutputAvailable): void;
  /** Enqueues the stream's `stream-closed` event. */
  streamClosed(channel: string, streamId: string, reason: CloseReason): void;
}

/** Whether a routed session may start (its workflow's reactors asked). */
export type Admission = { ok: true } | { ok: false; message: string };

export type SessionRoute = { ok: true; workflow: string } | { ok: false; code: 'NO_WORKFLOW' | 'IP_DENIED'; message: string };

/** Which workflow owns a publish, and what a session of it runs. */
export interface WorkflowRouter {
  /** The workflow receiving this publish; with `workflow` set (an internal source), that workflow if it still exists. */
  route(request: { ingest: IngestType; channel: string; key: string; userIp: string; workflow?: string; listener?: string }): SessionRoute;
  /**
   * Before a session of the routed workflow starts: its reactors are asked about the stream (no
   * reactor: admitted at once). `end` is called if a reactor later stops accepting the stream.
   * Never rejects. What an admission holds is freed by `release(streamId)`.
   */
  admit(workflow: string, session: { ingest: IngestType; channel: string; key: string; userIp: string; streamId: string; listener?: string }, end: (why: string) => void): Admission | Promise<Admission>;
  /** The session ended (or was refused after `admit`). */
  release(streamId: string): void;
  /** What a session of `workflow` runs (the workflow was just routed to). */
  plan(workflow: string, session: { channel: string; key: string; streamId: string; source: MediaSource }, pinned: boolean): SessionPlan;
  /** Called after a workflow was created (previous null), updated, or deleted (next null). */
  onChange(listener: (previous: string | null, next: string | null) => void): void;
}

/**
 * Cluster mode: one session per channel across every node, and stream ids unique across nodes.
 * `take` answers `busy` when another session holds the channel, `id-taken` when the stream id is
 * already used (pick another), `unavailable` when the cluster cannot be asked (refuse the publish).
 */
export interface ChannelClaims {
  take(channel: string, streamId: string): Promise<'taken' | 'busy' | 'id-taken' | 'unavailable'>;
  /** The session ended: its channel is free again. Must not throw. */
  release(channel: string, streamId: string): void;
}

export interface CoordinatorOptions {
  verifier: SessionVerifier;
  /** Whether the output storage can take a new stream (null: yes); checked on every publish. None: always. */
  storageAdmission?: () => { code: 'STORAGE_FULL' | 'STORAGE_ERROR'; message: string } | null;
  events: StreamEventSink;
  policy: StreamPolicy;
  idMaxLength: number;
  logger: Logger;
  workflows: WorkflowRouter;
  /** Runs workflow media steps (the encoder pool); null = none can run. */
  steps: StepRunner | null;
  /** Cluster-wide channel claims; absent = this node alone decides (single node). */
  claims?: ChannelClaims;
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

/** A live session of a workflow with its media steps' states (for `GET /workflows/{name}`). */
export interface WorkflowStream {
  channel: string;
  streamId: string;
  steps: Array<{ step_id: string; status: string }>;
}

