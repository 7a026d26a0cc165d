/**
 * A `PublishSink` that reports every publish decision (metrics) and otherwise passes each call
 * through: the ingest servers publish into it instead of the coordinator, and neither side changes.
 */
import type { IngestType, PublishDecision } from '../domain/stream';
import type { PublishSink } from './ingest.types';

export type PublishObserver = (ingest: IngestType, decision: PublishDecision) => void;

export function observePublishes(target: PublishSink, observe: PublishObserver): PublishSink {
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
