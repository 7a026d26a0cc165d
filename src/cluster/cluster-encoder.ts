/**
 * The encoder a cluster node's coordinator sees: each stream's encoding is placed on the encoder
 * node with the most free capacity (the PLACE script reserves it atomically), started there through
 * its mailbox — or on this node's own pool when it is the one chosen — and its reports come back to
 * the stream's actor here. The reservation is freed when the job exits. An encoder node that leaves
 * the cluster (or restarts) ends its jobs here as `WORKER_DIED`, which the stream actor answers
 * with a new attempt: placed again, continuing the same playlists.
 */
import type { EncodeJob, Encoder, EncoderReport, JobHandle } from '../domain/jobs';
import type { Logger } from '../logging/logger';
import type { NodeRecord } from './cluster.types';
import { KEYS } from './keys';
import type { Mailbox, MailMessage } from './mailbox';
import type { ClusterScripts } from './scripts';

export interface ClusterEncoderOptions {
  /** Report id of the encoder of a session before it is placed (this node's own encoder id). */
  id: number;
  nodeId: string;
  scripts: ClusterScripts;
  mailbox: Mailbox;
  /** Runs a job on this node's own pool (encoder role), else null. */
  local: { start(job: EncodeJob, report: (r: EncoderReport) => void): JobHandle } | null;
  /** The live nodes now. */
  nodes: () => Promise<NodeRecord[]>;
  /** Streams reserved per encoder node now (`castline:encoder-load`). */
  loads: () => Promise<Record<string, string>>;
  /**
   * How long an encoder node must stay missing before its jobs count as lost (after Redis comes
   * back, every node re-registers within a heartbeat: a brief absence is no death).
   */
  graceMs: number;
  logger: Logger;
}

/** One job placed on an encoder node. */
interface PlacedJob {
  job: EncodeJob;
  report: (r: EncoderReport) => void;
  /** The encoder node and the start time of the instance the job went to. */
  node: string | null;
  nodeStartedAt: number;
  localHandle: JobHandle | null;
  stopped: boolean;
  exited: boolean;
}

export class ClusterEncoder implements Encoder {
  readonly id: number;
  readonly capacity = -1;
  /** Free capacity somewhere in the cluster, as of the last look (refreshed with each heartbeat). */
  #room = true;
  /** Jobs by `{streamId}/{attempt}`. */
  readonly #jobs = new Map<string, PlacedJob>();
  /** Encoder nodes seen missing, since when (ms). */
  readonly #missingSince = new Map<string, number>();

  constructor(private readonly options: ClusterEncoderOptions) {
    this.id = options.id;
  }

  hasRoom(): boolean {
    return this.#room;
  }

  start(job: EncodeJob, report: (r: EncoderReport) => void): JobHandle {
    const placed: PlacedJob = { job, report, node: null, nodeStartedAt: 0, localHandle: null, stopped: false, exited: false };
    this.#jobs.set(jobKey(job.streamId, job.attempt), placed);
    void this.#place(placed);
    return { stop: () => this.#stop(placed) };
  }

  /** The encoder node of each placed stream (for the report). */
  placements(): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of this.#jobs.values()) if (p.node !== null && !p.exited) out.set(p.job.streamId, p.node);
    return out;
  }

  /** A report from an encoder node's mailbox message. */
  onMessage(message: MailMessage): void {
    if (message.type !== 'encode-report') return;
    const placed = this.#jobs.get(jobKey(message.streamId, message.attempt));
    if (placed !== undefined) this.#forward(placed, message.report);
  }

  /**
   * The live nodes as of a heartbeat: is there room anywhere, and did an encoder node running jobs
   * of this node leave or restart? (Its jobs then end as WORKER_DIED: the actor places them again.)
   */
  observe(nodes: NodeRecord[], loads: Record<string, string>): void {
    this.#updateRoom(nodes, loads);
    const alive = new Map(nodes.map((n) => [n.id, n.startedAt]));
    const now = Date.now();
    for (const id of this.#missingSince.keys()) if (alive.has(id)) this.#missingSince.delete(id);
    for (const placed of [...this.#jobs.values()]) {
      if (placed.node === null || placed.localHandle !== null || placed.exited) continue;
      const startedAt = alive.get(placed.node);
      if (startedAt === placed.nodeStartedAt) continue;
      if (startedAt === undefined) {
        const since = this.#missingSince.get(placed.node) ?? now;
        this.#missingSince.set(placed.node, since);
        if (now - since < this.options.graceMs) continue;
      }
      const why = startedAt === undefined ? 'left the cluster' : 'restarted';
      this.options.logger.warn({ ch: placed.job.channel, streamId: placed.job.streamId, encoderNode: placed.node }, `encoder node ${why}: its job is lost`);
      this.#forward(placed, { type: 'exited', clean: false, error: { code: 'WORKER_DIED', message: `encoder node ${placed.node} ${why}` } });
    }
  }

  async refresh(): Promise<void> {
    try {
      const [nodes, loads] = await Promise.all([this.options.nodes(), this.options.loads()]);
      this.#updateRoom(nodes, loads);
    } catch {
      // Redis away: the publish is refused by its channel claim anyway
    }
  }

  #updateRoom(nodes: NodeRecord[], loads: Record<string, string>): void {
    this.#room = nodes.some((n) => n.encoder !== null && (n.encoder.capacity < 0 || Number(loads[n.id] ?? 0) < n.encoder.capacity));
  }

  async #place(placed: PlacedJob): Promise<void> {
    const { scripts, nodeId, local, logger } = this.options;
    const { job } = placed;
    let node: string | null;
    let nodes: NodeRecord[];
    try {
      nodes = (await this.options.nodes()).filter((n) => n.encoder !== null);
      const pairs = nodes.flatMap((n) => [n.id, n.encoder!.capacity]);
      node = await scripts.place(KEYS.encoderLoad, KEYS.placements, job.streamId, ...pairs);
    } catch (err) {
      return this.#forward(placed, { type: 'exited', clean: false, error: { code: 'START_FAILED', message: `cannot place the encoding (Redis unavailable): ${(err as Error).message}` } });
    }
    if (node === null) {
      this.#room = false;
      return this.#forward(placed, { type: 'exited', clean: false, error: { code: 'CAPACITY_FULL', message: 'no encoder node has capacity for another stream' } });
    }
    placed.node = node;
    placed.nodeStartedAt = nodes.find((n) => n.id === node)?.startedAt ?? 0;
    logger.info({ ch: job.channel, streamId: job.streamId, attempt: job.attempt, encoderNode: node }, 'encoding placed');
    if (placed.stopped) return this.#forward(placed, { type: 'exited', clean: true });
    if (node === nodeId && local !== null) placed.localHandle = local.start(job, (r) => this.#forward(placed, r));
    else this.options.mailbox.send(node, { type: 'encode-start', from: nodeId, job });
  }

  #stop(placed: PlacedJob): void {
    if (placed.stopped || placed.exited) return;
    placed.stopped = true;
    if (placed.localHandle !== null) placed.localHandle.stop();
    else if (placed.node !== null) this.options.mailbox.send(placed.node, { type: 'encode-stop', streamId: placed.job.streamId, attempt: placed.job.attempt });
    // Not placed yet: #place sees `stopped` and ends the job once it has a node.
  }

  #forward(placed: PlacedJob, report: EncoderReport): void {
    if (placed.exited) return;
    if (report.type === 'exited') {
      placed.exited = true;
      this.#jobs.delete(jobKey(placed.job.streamId, placed.job.attempt));
      if (placed.node !== null) this.#unplace(placed.job.streamId, placed.node);
    }
    placed.report(report);
  }

  #unplace(streamId: string, node: string): void {
    this.options.scripts.unplace(KEYS.encoderLoad, KEYS.placements, streamId, node).catch((err: Error) => {
      this.options.logger.warn({ streamId, encoderNode: node, err: { message: err.message } }, 'cannot free the encoder reservation now');
    });
  }
}

const jobKey = (streamId: string, attempt: number) => `${streamId}/${attempt}`;
