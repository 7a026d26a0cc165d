/**
 * Each encoded stream's outputs state (segment numbers, playlists' windows, recording parts) kept
 * in Redis as the encoder node's pool updates it, so another encoder node can continue the same
 * playlists — next segment number, `#EXT-X-DISCONTINUITY` — when the first one dies. One write in
 * flight per stream; a newer state replaces one not yet written. Kept an hour after the last change.
 */
import type Redis from 'ioredis';
import type { OutputsState } from '../encoding/outputs';
import { KEYS } from './keys';

const KEEP_SECONDS = 3600;

export class OutputsMirror {
  readonly #pending = new Map<string, OutputsState>();
  readonly #writing = new Set<string>();

  constructor(private readonly redis: Redis) {}

  save(streamId: string, state: OutputsState): void {
    this.#pending.set(streamId, state);
    if (!this.#writing.has(streamId)) void this.#drain(streamId);
  }

  async #drain(streamId: string): Promise<void> {
    this.#writing.add(streamId);
    for (let state = this.#pending.get(streamId); state !== undefined; state = this.#pending.get(streamId)) {
      this.#pending.delete(streamId);
      // Redis away: this state is skipped, the next change writes a newer one.
      await this.redis.set(KEYS.outputs(streamId), JSON.stringify(state), 'EX', KEEP_SECONDS).catch(() => undefined);
    }
    this.#writing.delete(streamId);
  }

  /** The last state kept for the stream, or null. */
  async load(streamId: string): Promise<OutputsState | null> {
    const text = await this.redis.get(KEYS.outputs(streamId));
    return text === null ? null : (JSON.parse(text) as OutputsState);
  }

  /** The stream ended cleanly: nothing will continue it. */
  forget(streamId: string): void {
    this.#pending.delete(streamId);
    this.redis.del(KEYS.outputs(streamId)).catch(() => undefined);
  }
}
