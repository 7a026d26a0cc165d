/**
 * `ffmpeg_pull` sources: for every ffmpeg_pull step of every workflow, one supervised ffmpeg pulls
 * the location (in real time) and publishes it to an internal RTMP path; once it produces output,
 * a session pinned to that workflow is opened with that path as its source (channel = the step's
 * `stream_name`; no key verification). When the pull ends (end of file, source gone, restarts
 * used up) the session ends like a publisher that left; a close command or the workflow's removal
 * stops the pull. Pulls are not restarted after they end (update the workflow to start again).
 */
import type { JobHandle, StepRunner } from '../domain/jobs';
import type { PublishSink } from '../ingest/ingest.types';
import type { Logger } from '../logging/logger';
import type { InternalRtmp } from './internal-rtmp';
import type { WorkflowRegistry } from './registry';

interface Pull {
  handle: JobHandle;
  streamId: string | null;
  ended: boolean;
}

export interface PullSourcesOptions {
  registry: WorkflowRegistry;
  /** Where the pulled stream is published (the coordinator). */
  sink: PublishSink;
  steps: StepRunner;
  internal: InternalRtmp;
  serverId: number;
  logger: Logger;
}

export class PullSources {
  readonly #pulls = new Map<string, Pull>();
  #closed = false;

  constructor(private readonly options: PullSourcesOptions) {}

  /** Starts the pulls of the current workflows and follows their changes. */
  start(): void {
    this.options.registry.on('changed', () => this.#sync());
    this.#sync();
  }

  /** Stops every pull (their sessions end). */
  close(): void {
    this.#closed = true;
    for (const pull of this.#pulls.values()) pull.handle.stop();
  }

  #sync(): void {
    if (this.#closed) return;
    const wanted = new Map<string, { workflow: string; stepId: string; location: string; streamName: string }>();
    for (const workflow of this.options.registry.all()) {
      for (const step of workflow.steps) {
        if (step.spec.type === 'ffmpeg_pull') {
          wanted.set(`${workflow.name}/${step.id}`, { workflow: workflow.name, stepId: step.id, location: step.spec.location, streamName: step.spec.streamName });
        }
      }
    }
    for (const [id, pull] of this.#pulls) if (!wanted.has(id)) pull.handle.stop();
    for (const [id, want] of wanted) if (!this.#pulls.has(id)) this.#startPull(id, want);
  }

  #startPull(id: string, want: { workflow: string; stepId: string; location: string; streamName: string }): void {
    const log = this.options.logger.child({ workflow: want.workflow, pull: want.streamName });
    const output = this.options.internal.pullOutput(want.workflow, want.stepId);
    const pull: Pull = { handle: { stop: () => {} }, streamId: null, ended: false };
    this.#pulls.set(id, pull);
    pull.handle = this.options.steps.startStep({ label: `${want.workflow}/ffmpeg_pull/${want.streamName}`, input: want.location, step: { type: 'ffmpeg_pull', output }, attempt: 0 }, (report) => {
      if (report.type === 'active') {
        if (pull.streamId !== null || pull.ended) return;
        void this.options.sink
          .publish({
            channel: want.streamName,
            key: 'pull',
            userIp: '127.0.0.1',
            ingest: 'RTMP',
            serverId: this.options.serverId,
            source: { type: 'RTMP', uri: output },
            disconnect: () => pull.handle.stop(),
            workflow: want.workflow,
          })
          .then((decision) => {
            if (!decision.accepted) {
              log.warn({ code: decision.code, reason: decision.message }, 'pulled stream refused: stopping the pull');
              pull.handle.stop();
            } else if (pull.ended) {
              this.options.sink.publisherGone(decision.streamId);
            } else {
              pull.streamId = decision.streamId;
              log.info({ streamId: decision.streamId }, 'pulled stream live');
            }
          });
        return;
      }
      pull.ended = true;
      if (this.#pulls.get(id) === pull) this.#pulls.delete(id);
      if (pull.streamId !== null) this.options.sink.publisherGone(pull.streamId);
      if (report.clean) log.info('pull ended');
      else log.warn({ error: report.error }, 'pull failed');
    });
  }
}
