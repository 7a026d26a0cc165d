/**
 * Who may PLAY `rtmp://host:port/{channel}/{key}` (in practice: the encoder pulling the stream).
 * Only a player whose key is the channel's live, accepted publisher's key gets media.
 *
 * A player that arrives while the channel's publisher is still being verified is held (kept
 * connected, receiving nothing, since the publisher's media is gated) when its key matches the
 * pending publisher's; it is then re-checked against the coordinator once the publish is accepted,
 * or closed when it is refused. Every other player is refused at once: there is no waiting for a
 * publisher that has not even connected (the ingest registers a publisher before it asks the
 * coordinator, so an encoder started on acceptance always finds it).
 */
import { secretsEqual } from '../../net/secret-compare';

export type PublisherView =
  | { state: 'verifying'; key: string }
  | { state: 'live'; streamId: string }
  | { state: 'ended' };

export interface PlayerQuery {
  playerKey: string;
  /** This ingest's publisher on the channel, if any. */
  publisher: PublisherView | null;
  /** `coordinator.livePublisher(channel)`: the authority on what is live and with which key. */
  coordinatorLive: { streamId: string; key: string } | null;
}

export type PlayerDecision =
  | { action: 'allow' }
  | { action: 'hold' }
  | { action: 'refuse'; reason: string };

export function decidePlayer(query: PlayerQuery): PlayerDecision {
  const { publisher, playerKey, coordinatorLive } = query;
  if (publisher === null || publisher.state === 'ended') return { action: 'refuse', reason: 'no live publisher on this channel' };
  if (publisher.state === 'verifying') {
    return secretsEqual(playerKey, publisher.key) ? { action: 'hold' } : { action: 'refuse', reason: 'wrong key' };
  }
  if (coordinatorLive === null || coordinatorLive.streamId !== publisher.streamId) {
    return { action: 'refuse', reason: 'stream is not live at the coordinator' };
  }
  return secretsEqual(playerKey, coordinatorLive.key) ? { action: 'allow' } : { action: 'refuse', reason: 'wrong key' };
}
