/**
 * A `StreamCoordinator` that reports every publish decision (metrics) and otherwise passes each
 * call through: the ingest servers get it instead of the coordinator, and neither side changes.
 */
import type { IngestType, PublishDecision, StreamCoordinator } from './coordinator.types';

export type PublishObserver = (ingest: IngestType, decision: PublishDecision) => void;

export function observePublishes(target: StreamCoordinator, observe: PublishObserver): StreamCoordinator {
  return {
    publish: async (request) => {
      const decision = await target.publish(request);
      observe(request.ingest, decision);
      return decision;
    },
    publisherGone: (streamId) => target.publisherGone(streamId),
    livePublisher: (channel) => target.livePublisher(channel),
  };
}
