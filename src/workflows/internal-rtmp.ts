/**
 * Addresses on castline's own RTMP server for the streams its workflow steps publish: a
 * transcode step's output (app `castline-internal`, only for castline's own players) and an
 * `rtmp_watch` copy (the user's app/key, for any player). Each publish carries a per-process
 * secret (`?castline_token=`) by which the RTMP ingest recognises it as internal: accepted without
 * a session of its own, and never claimed by a real publisher's workflow.
 */
import { randomBytes } from 'node:crypto';

export const INTERNAL_APP = 'castline-internal';
export const TOKEN_PARAM = 'castline_token';

export class InternalRtmp {
  readonly token: string;

  constructor(readonly host: string, readonly port: () => number, token = randomBytes(16).toString('hex')) {
    this.token = token;
  }

  #url(app: string, name: string): string {
    return `rtmp://${this.host}:${this.port()}/${app}/${name}?${TOKEN_PARAM}=${this.token}`;
  }

  /** Where a transcode step publishes its result, and where the next steps pull it. */
  transcodeOutput(streamId: string, stepId: string): { publish: string; play: string } {
    const url = this.#url(INTERNAL_APP, `${streamId}-${stepId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
    return { publish: url, play: url };
  }

  /** Where a workflow's ffmpeg_pull step publishes what it pulls (the session's source). */
  pullOutput(workflow: string, stepId: string): string {
    return this.#url(INTERNAL_APP, `pull-${workflow.replace(/[^A-Za-z0-9_-]/g, '_')}-${stepId}`);
  }

  /** Where an rtmp_watch step publishes its copy for players of `rtmp://host/{app}/{key}`. */
  watchOutput(app: string, key: string): string {
    return this.#url(app, key);
  }
}
