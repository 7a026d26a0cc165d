/**
 * The root actor: spawns one stream actor per publish request (child id = stream id), forwards
 * commands to them, and removes them when they finish. Its `children` are the registry — capacity,
 * report and "is this channel live" are all answered from their snapshots (coordinator.ts).
 *
 * Pure definition; `stream` is supplied with its effects by the coordinator (`provide`).
 */
import { assign, enqueueActions, setup, spawnChild, stopChild, type ActorRefFrom } from 'xstate';
import type { CloseReason } from '../src/coordinator/coordinator.types';
import type { StreamInput } from './stream.events';
import { streamMachine } from './stream.machine';

export type CoordinatorEvent =
  | { type: 'PUBLISH'; input: StreamInput }
  /** Close the sessions of a channel: one stream id, or `*` for all of them. */
  | { type: 'CLOSE'; channel: string; streamId: string; reason: CloseReason }
  | { type: 'SHUTDOWN' };

type PublishEvent = Extract<CoordinatorEvent, { type: 'PUBLISH' }>;

export type StreamActorRef = ActorRefFrom<typeof streamMachine>;

export const coordinatorMachine = setup({
  types: {
    context: {} as { shuttingDown: boolean },
    events: {} as CoordinatorEvent,
  },
  actors: { stream: streamMachine },
}).createMachine({
  id: 'coordinator',
  context: { shuttingDown: false },
  on: {
    PUBLISH: {
      guard: ({ context }) => !context.shuttingDown,
      actions: spawnChild('stream', { id: ({ event }) => event.input.streamId, input: ({ event }) => (event as PublishEvent).input }),
    },
    CLOSE: {
      actions: enqueueActions(({ enqueue, event, self }) => {
        for (const child of Object.values(self.getSnapshot().children) as StreamActorRef[]) {
          const ctx = child.getSnapshot().context;
          if (ctx.channel === event.channel && (event.streamId === '*' || event.streamId === ctx.streamId)) {
            enqueue.sendTo(child, { type: 'CLOSE_REQUESTED', reason: event.reason });
          }
        }
      }),
    },
    SHUTDOWN: {
      actions: [
        assign({ shuttingDown: true }),
        enqueueActions(({ enqueue, self }) => {
          for (const child of Object.values(self.getSnapshot().children) as StreamActorRef[]) {
            enqueue.sendTo(child, { type: 'SHUTDOWN' });
          }
        }),
      ],
    },
    // A finished session leaves the registry. An actor that failed (a bug, not a media problem)
    // leaves it too; the coordinator logs it from its subscription.
    'xstate.done.actor.*': { actions: stopChild(({ event }) => (event as unknown as { actorId: string }).actorId) },
    'xstate.error.actor.*': { actions: stopChild(({ event }) => (event as unknown as { actorId: string }).actorId) },
  },
});
