/**
 * One publish session:
 *
 *   verifying ──key ok + encoder free──▶ live.encoding ──first output──▶ live.available
 *      │                                   │   ▲   (encoder crash, restarts left)  │
 *      │ key refused / capacity full /     │   └──── live.restarting ◀─────────────┤
 *      │ publisher left / shutdown         │                                       │
 *      ▼                                   └─ publisher gone / close / shutdown ──▶ live.ending
 *   rejected (no events)                                                            │ encoder exited
 *                                                                                   ▼ (or stop timeout)
 *                                                            closed ◀── fatal encoder error (publisher disconnected)
 *
 * Pure definition: no I/O imports. Effects are named here and supplied by the coordinator with
 * `streamMachine.provide({ actors, actions, guards })`:
 * - actor `verifyKey` (the application's key verification), actor `runEncoder` (one encode job);
 * - guard `encoderAvailable` and action `assignEncoder` (capacity, decided from all actors);
 * - actions `emitStarted`, `emitAvailable`, `emitClosed` (the event outbox), `logClosed`.
 * Every report of the encoder carries its attempt number; reports from an older attempt are ignored.
 */
import { assign, fromCallback, fromPromise, not, sendTo, setup, spawnChild, stopChild } from 'xstate';
import type { CloseReason, OutputAvailable, RefusalCode } from '../src/coordinator/coordinator.types';
import type { EncoderActorInput, StreamContext, StreamEvent, StreamInput, VerifyResult } from './stream.events';

const ENCODER = 'encoder';

/** Close reason for an encoder error code. */
export function closeReasonFor(code: string | undefined): CloseReason {
  switch (code) {
    case 'INPUT_STALLED': return 'input-stalled';
    case 'INVALID_MEDIA': return 'invalid-media';
    default: return 'encoder-failed';
  }
}

/**
 * Encoder errors worth a new job: the worker thread died (the input may still be fine). An ffmpeg
 * crash is restarted inside the job itself (it continues numbering and playlists with a
 * discontinuity); `ENCODER_CRASHED` reaches the actor only once those restarts are used up.
 */
const RESTARTABLE = new Set(['WORKER_DIED']);

export const streamMachine = setup({
  types: {
    context: {} as StreamContext,
    events: {} as StreamEvent,
    input: {} as StreamInput,
  },
  actors: {
    verifyKey: fromPromise<VerifyResult, { channel: string; key: string; userIp: string }>(async () => {
      throw new Error('verifyKey not provided');
    }),
    runEncoder: fromCallback<StreamEvent, EncoderActorInput>(({ sendBack, input }) => {
      sendBack({ type: 'ENCODER_EXITED', attempt: input.attempt, clean: false, error: { code: 'START_FAILED', message: 'runEncoder not provided' } });
    }),
  },
  guards: {
    /** Replaced by the coordinator: is any encoder below capacity? */
    encoderAvailable: () => false,
    isCurrentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
    canRestart: ({ context, event }) =>
      event.type === 'ENCODER_EXITED' &&
      !event.clean &&
      context.publisherConnected &&
      RESTARTABLE.has(event.error?.code ?? '') &&
      context.attempt < context.policy.maxRestarts,
  },
  actions: {
    /** Replaced by the coordinator: sets `encoderId` to the least-loaded encoder with room. */
    assignEncoder: () => {},
    emitStarted: () => {},
    emitAvailable: (_, _params: { output: OutputAvailable }) => {},
    emitClosed: () => {},
    logClosed: () => {},
    disconnectPublisher: ({ context }) => context.disconnect(context.closeReason ?? 'close-command'),
    acceptSettings: assign({
      settings: (_, result: VerifyResult) => (result.accepted ? result.settings : null),
    }),
    refuse: assign({ refusal: (_, refusal: { code: RefusalCode; message: string }) => refusal }),
    setCloseReason: assign({
      closeReason: ({ context }, p: { reason: CloseReason; message?: string }) => context.closeReason ?? p.reason,
      closeMessage: ({ context }, p: { reason: CloseReason; message?: string }) => context.closeMessage ?? p.message ?? null,
    }),
    markPublisherGone: assign({ publisherConnected: false }),
    countOutput: assign({ outputs: ({ context }) => context.outputs + 1 }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    spawnEncoder: spawnChild('runEncoder', {
      id: ENCODER,
      input: ({ context }) => ({
        encoderId: context.encoderId ?? -1,
        attempt: context.attempt,
        channel: context.channel,
        streamId: context.streamId,
        source: context.source,
        settings: context.settings!,
      }),
    }),
    stopEncoder: sendTo(ENCODER, { type: 'STOP' }),
    killEncoder: stopChild(ENCODER),
  },
  delays: {
    restartBackoff: ({ context }) => Math.min(30_000, context.policy.restartBaseMs * 2 ** (context.attempt)),
    stopTimeout: ({ context }) => context.policy.stopTimeoutMs,
  },
}).createMachine({
  id: 'stream',
  initial: 'verifying',
  context: ({ input }) => ({
    ...input,
    settings: null,
    encoderId: null,
    attempt: 0,
    refusal: null,
    closeReason: null,
    closeMessage: null,
    outputs: 0,
    publisherConnected: true,
  }),
  states: {
    verifying: {
      invoke: {
        src: 'verifyKey',
        input: ({ context }) => ({ channel: context.channel, key: context.key, userIp: context.userIp }),
        onDone: [
          {
            guard: ({ event }) => !event.output.accepted,
            target: 'rejected',
            actions: {
              type: 'refuse',
              params: ({ event }) => ({ code: 'KEY_REFUSED' as const, message: event.output.accepted ? '' : event.output.reason }),
            },
          },
          {
            // Capacity is decided here, in the same step as the acceptance, so the publisher is
            // never told it is live when no encoder can take the stream.
            guard: not('encoderAvailable'),
            target: 'rejected',
            actions: { type: 'refuse', params: { code: 'CAPACITY_FULL', message: 'no encoder has capacity for another stream' } },
          },
          {
            target: 'live',
            actions: [{ type: 'acceptSettings', params: ({ event }) => event.output }, 'assignEncoder'],
          },
        ],
        onError: {
          target: 'rejected',
          actions: { type: 'refuse', params: ({ event }) => ({ code: 'KEY_REFUSED' as const, message: String(event.error) }) },
        },
      },
      on: {
        PUBLISHER_GONE: {
          target: 'rejected',
          actions: [{ type: 'refuse', params: { code: 'KEY_REFUSED', message: 'publisher left during key verification' } }, 'markPublisherGone'],
        },
        CLOSE_REQUESTED: {
          target: 'rejected',
          actions: { type: 'refuse', params: { code: 'KEY_REFUSED', message: 'closed by command during key verification' } },
        },
        SHUTDOWN: {
          target: 'rejected',
          actions: { type: 'refuse', params: { code: 'SHUTTING_DOWN', message: 'server shutting down' } },
        },
      },
    },
    live: {
      entry: ['emitStarted', 'spawnEncoder'],
      initial: 'encoding',
      states: {
        encoding: {
          on: {
            ENCODER_OUTPUT: {
              guard: 'isCurrentAttempt',
              target: 'available',
              actions: ['countOutput', { type: 'emitAvailable', params: ({ event }) => ({ output: event.output }) }],
            },
          },
        },
        available: {
          on: {
            ENCODER_OUTPUT: {
              guard: 'isCurrentAttempt',
              actions: ['countOutput', { type: 'emitAvailable', params: ({ event }) => ({ output: event.output }) }],
            },
          },
        },
        restarting: {
          entry: 'killEncoder',
          after: {
            restartBackoff: { target: 'encoding', actions: ['nextAttempt', 'spawnEncoder'] },
          },
          on: {
            PUBLISHER_GONE: {
              target: '#stream.closed',
              actions: ['markPublisherGone', { type: 'setCloseReason', params: { reason: 'publisher-disconnected' } }],
            },
            CLOSE_REQUESTED: {
              target: '#stream.closed',
              actions: [{ type: 'setCloseReason', params: ({ event }) => ({ reason: event.reason }) }, 'disconnectPublisher'],
            },
            SHUTDOWN: {
              target: '#stream.closed',
              actions: [{ type: 'setCloseReason', params: { reason: 'shutdown' } }, 'disconnectPublisher'],
            },
          },
        },
        ending: {
          entry: 'stopEncoder',
          after: { stopTimeout: { target: '#stream.closed' } },
          on: {
            ENCODER_OUTPUT: {
              guard: 'isCurrentAttempt',
              actions: ['countOutput', { type: 'emitAvailable', params: ({ event }) => ({ output: event.output }) }],
            },
            ENCODER_EXITED: { guard: 'isCurrentAttempt', target: '#stream.closed' },
            PUBLISHER_GONE: { actions: 'markPublisherGone' },
          },
        },
      },
      on: {
        PUBLISHER_GONE: {
          target: '.ending',
          actions: ['markPublisherGone', { type: 'setCloseReason', params: { reason: 'publisher-disconnected' } }],
        },
        CLOSE_REQUESTED: {
          target: '.ending',
          actions: [{ type: 'setCloseReason', params: ({ event }) => ({ reason: event.reason }) }, 'disconnectPublisher'],
        },
        SHUTDOWN: {
          target: '.ending',
          actions: [{ type: 'setCloseReason', params: { reason: 'shutdown' } }, 'disconnectPublisher'],
        },
        ENCODER_EXITED: [
          { guard: ({ context, event }) => event.attempt !== context.attempt },
          {
            guard: 'canRestart',
            target: '.restarting',
          },
          {
            // The input ended by itself (publisher's stream finished) or the encoder gave up.
            target: '#stream.closed',
            actions: [
              {
                type: 'setCloseReason',
                params: ({ event }) =>
                  event.clean
                    ? { reason: 'publisher-disconnected' as const }
                    : { reason: closeReasonFor(event.error?.code), message: event.error?.message },
              },
              'disconnectPublisher',
            ],
          },
        ],
        'xstate.error.actor.encoder': {
          target: '#stream.closed',
          actions: [{ type: 'setCloseReason', params: { reason: 'encoder-failed', message: 'encoder actor failed' } }, 'disconnectPublisher'],
        },
      },
    },
    closed: {
      type: 'final',
      entry: ['emitClosed', 'logClosed'],
    },
    rejected: {
      type: 'final',
    },
  },
});

export type StreamMachine = typeof streamMachine;

/** States in which the session holds its channel (its publisher is connected and live or being verified). */
export function holdsChannel(value: unknown): boolean {
  if (value === 'verifying') return true;
  if (typeof value === 'object' && value !== null && 'live' in value) {
    const live = (value as { live: string }).live;
    return live !== 'ending';
  }
  return false;
}

/** States in which the session occupies an encoder slot. */
export function usesEncoder(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'live' in value;
}
