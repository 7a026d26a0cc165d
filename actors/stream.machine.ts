/**
 * One publish session, running the steps of its workflow (SessionPlan):
 *
 *   verifying ──key ok + encoder free──▶ live.encoding ──first output──▶ live.available
 *      │                                   │   ▲   (worker died, restarts left)     │
 *      │ key refused / capacity full /     │   └──── live.restarting ◀──────────────┤
 *      │ publisher left / shutdown         │                                        │
 *      ▼                                   └─ publisher gone / close / shutdown ──▶ live.ending
 *   rejected (no events)                                                             │ encoder and every
 *                                                                                    ▼ step stopped (or timeout)
 *                                                             closed ◀── fatal encoder error (publisher disconnected)
 *
 * In `live`, the encoder (the hls_ladder step, if the workflow has one) and one child actor per
 * media step (ffmpeg_hls, ffmpeg_push, …) run side by side. A step that fails is marked
 * `Error: …` for this session; the stream goes on. WORKFLOW_UPDATED starts the new steps first,
 * then stops the removed ones; unchanged steps keep running.
 *
 * Pure definition: no I/O imports. Effects are named here and supplied by the coordinator with
 * `streamMachine.provide({ actors, actions, guards })`:
 * - actors `verifyKey` (the application's key verification), `runEncoder` (one encode job),
 *   `runStep` (one media step job);
 * - guard `encoderAvailable` and action `assignEncoder` (capacity, decided from all actors);
 * - actions `emitStarted`, `emitAvailable`, `emitClosed` (the event outbox), `logClosed`.
 * Every report of the encoder carries its attempt number; reports from an older attempt are ignored.
 */
import { assign, enqueueActions, fromCallback, fromPromise, not, raise, setup, stopChild } from 'xstate';
import { backoffMs } from '../src/domain/backoff';
import type { RefusalCode } from '../src/domain/errors';
import type { OutputAvailable } from '../src/domain/outputs';
import type { SessionPlan, StepState } from '../src/domain/plan';
import type { CloseReason, VerificationOutcome } from '../src/domain/stream';
import type { EncoderActorInput, StepActorInput, StreamContext, StreamEvent, StreamInput } from './stream.events';

const ENCODER = 'encoder';

const stepActorId = (stepId: string) => `step:${stepId}`;

/** Close reason for an encoder error code. */
export function closeReasonFor(code: string | undefined): CloseReason {
  switch (code) {
    case 'INPUT_STALLED':
      return 'input-stalled';
    case 'INVALID_MEDIA':
      return 'invalid-media';
    case 'STORAGE_FULL':
      return 'storage-full';
    case 'STORAGE_ERROR':
      return 'storage-error';
    case 'STORAGE_FULL':
      return 'storage-full';
    case 'STORAGE_ERROR':
      return 'storage-error';
    default:
      return 'encoder-failed';
  }
}

/**
 * Encoder errors worth a new job: the worker thread died (the input may still be fine). An ffmpeg
 * crash is restarted inside the job itself (it continues numbering and playlists with a
 * discontinuity); `ENCODER_CRASHED` reaches the actor only once those restarts are used up.
 */
const RESTARTABLE = new Set(['WORKER_DIED']);

export interface VerifyInput {
  channel: string;
  key: string;
  userIp: string;
  plan: SessionPlan;
}

type ErrorEvent = { type: `xstate.error.actor.${string}`; error: unknown };

export const streamMachine = setup({
  types: {
    context: {} as StreamContext,
    events: {} as StreamEvent | ErrorEvent,
    input: {} as StreamInput,
  },
  actors: {
    verifyKey: fromPromise<VerificationOutcome, VerifyInput>(async () => {
      throw new Error('verifyKey not provided');
    }),
    runEncoder: fromCallback<StreamEvent, EncoderActorInput>(({ sendBack, input }) => {
      sendBack({ type: 'ENCODER_EXITED', attempt: input.attempt, clean: false, error: { code: 'START_FAILED', message: 'runEncoder not provided' } });
    }),
    runStep: fromCallback<StreamEvent, StepActorInput>(({ sendBack, input }) => {
      sendBack({ type: 'STEP_EXITED', stepId: input.stepId, clean: false, error: { code: 'START_FAILED', message: 'runStep not provided' } });
    }),
  },
  guards: {
    /** Replaced by the coordinator: can an encoder take this session (or does it need none)? */
    encoderAvailable: () => false,
    isCurrentAttempt: ({ context, event }) => 'attempt' in event && event.attempt === context.attempt,
    canRestart: ({ context, event }) =>
      event.type === 'ENCODER_EXITED' &&
      !event.clean &&
      context.publisherConnected &&
      RESTARTABLE.has(event.error?.code ?? 'START_FAILED') &&
      context.attempt < context.policy.maxRestarts,
    allStopped: ({ context }) => !context.encoderRunning && Object.values(context.steps).every((s) => !s.running),
  },
  actions: {
    /** Replaced by the coordinator: sets `encoderId` to the least-loaded encoder with room. */
    assignEncoder: () => {},
    emitStarted: () => {},
    emitAvailable: (_, _params: { output: OutputAvailable }) => {},
    emitClosed: () => {},
    logClosed: () => {},
    /** Replaced by the coordinator, which keeps each session's publisher connection: disconnects it with `closeReason`. */
    disconnectPublisher: () => {},
    acceptSettings: assign({
      settings: (_, result: VerificationOutcome) => (result.accepted ? result.settings : null),
    }),
    refuse: assign({ refusal: (_, refusal: { code: RefusalCode; message: string }) => refusal }),
    setCloseReason: assign({
      closeReason: ({ context }, p: { reason: CloseReason; message?: string }) => context.closeReason ?? p.reason,
      closeMessage: ({ context }, p: { reason: CloseReason; message?: string }) => context.closeMessage ?? p.message ?? null,
    }),
    markPublisherGone: assign({ publisherConnected: false }),
    countOutput: assign({ outputs: ({ context }) => context.outputs + 1 }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    encoderExited: assign({ encoderRunning: false }),
    killEncoder: stopChild(ENCODER),
    stepActive: assign({
      steps: ({ context, event }) => {
        if (event.type !== 'STEP_ACTIVE' || context.steps[event.stepId] === undefined) return context.steps;
        const step = context.steps[event.stepId];
        return step.state === 'Stopping' ? context.steps : { ...context.steps, [event.stepId]: { state: 'Active' as StepState, running: true } };
      },
    }),
    updatePlan: assign({ plan: ({ context, event }) => (event.type === 'WORKFLOW_UPDATED' ? event.plan : context.plan) }),
  },
  delays: {
    restartBackoff: ({ context }) => backoffMs(context.attempt + 1, context.policy.restartBaseMs, 30_000),
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
    encoderRunning: false,
    steps: {},
  }),
  states: {
    verifying: {
      invoke: {
        id: 'verifyKey',
        src: 'verifyKey',
        input: ({ context }) => ({ channel: context.channel, key: context.key, userIp: context.userIp, plan: context.plan }),
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
        WORKFLOW_UPDATED: { actions: 'updatePlan' },
      },
    },
    live: {
      entry: ['emitStarted', raise({ type: 'START_ENCODER' }), raise({ type: 'RECONCILE' })],
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
            restartBackoff: { target: 'encoding', actions: ['nextAttempt', raise({ type: 'START_ENCODER' })] },
          },
          on: {
            PUBLISHER_GONE: {
              target: 'ending',
              actions: ['markPublisherGone', { type: 'setCloseReason', params: { reason: 'publisher-disconnected' } }],
            },
          },
        },
        ending: {
          entry: [
            enqueueActions(({ context, enqueue }) => {
              if (context.encoderRunning) enqueue.sendTo(ENCODER, { type: 'STOP' });
            }),
            enqueueActions(({ context, enqueue }) => {
              const steps = { ...context.steps };
              for (const [id, step] of Object.entries(steps)) {
                if (!step.running) continue;
                enqueue.sendTo(stepActorId(id), { type: 'STOP' });
                steps[id] = { state: 'Stopping', running: true };
              }
              enqueue.assign({ steps });
            }),
          ],
          always: { guard: 'allStopped', target: '#stream.closed' },
          after: { stopTimeout: { target: '#stream.closed' } },
          on: {
            ENCODER_OUTPUT: {
              guard: 'isCurrentAttempt',
              actions: ['countOutput', { type: 'emitAvailable', params: ({ event }) => ({ output: event.output }) }],
            },
            ENCODER_EXITED: { guard: 'isCurrentAttempt', actions: 'encoderExited' },
            PUBLISHER_GONE: { actions: 'markPublisherGone' },
            CLOSE_REQUESTED: {},
            SHUTDOWN: {},
            WORKFLOW_UPDATED: {},
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
        WORKFLOW_UPDATED: { actions: ['updatePlan', raise({ type: 'RECONCILE' })] },
        RECONCILE: {
          actions: enqueueActions(({ context, enqueue }) => {
            const steps = { ...context.steps };
            const planned = new Set(context.plan.steps.map((s) => s.id));
            for (const step of context.plan.steps) {
              if (steps[step.id]?.running) continue;
              if (steps[step.id] !== undefined) enqueue(stopChild(stepActorId(step.id)));
              enqueue.spawnChild('runStep', { id: stepActorId(step.id), input: { stepId: step.id, job: step.job } });
              steps[step.id] = { state: 'Created', running: true };
            }
            for (const [id, step] of Object.entries(steps)) {
              if (planned.has(id)) continue;
              if (step.running) {
                enqueue.sendTo(stepActorId(id), { type: 'STOP' });
                steps[id] = { state: 'Stopping', running: true };
              } else {
                delete steps[id];
              }
            }
            enqueue.assign({ steps });
          }),
        },
        START_ENCODER: {
          actions: enqueueActions(({ context, enqueue }) => {
            const ladder = context.plan.ladder;
            if (ladder === null || context.settings === null) return;
            enqueue.spawnChild('runEncoder', {
              id: ENCODER,
              input: {
                encoderId: context.encoderId ?? -1,
                attempt: context.attempt,
                channel: context.channel,
                streamId: context.streamId,
                source: ladder.source,
                settings: context.settings,
              },
            });
            enqueue.assign({ encoderRunning: true });
          }),
        },
        STEP_ACTIVE: { actions: 'stepActive' },
        STEP_EXITED: {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (event.type !== 'STEP_EXITED' || context.steps[event.stepId] === undefined) return;
            const state: StepState = event.clean
              ? 'Ended'
              : (`Error: ${event.error?.code ?? 'STEP_FAILED'}: ${event.error?.message ?? ''}`.trimEnd() as StepState);
            enqueue(stopChild(stepActorId(event.stepId)));
            const planned = context.plan.steps.some((s) => s.id === event.stepId);
            const steps = { ...context.steps };
            if (planned) steps[event.stepId] = { state, running: false };
            else delete steps[event.stepId];
            enqueue.assign({ steps });
          }),
        },
        ENCODER_EXITED: [
          { guard: not('isCurrentAttempt') },
          {
            guard: 'canRestart',
            target: '.restarting',
            actions: 'encoderExited',
          },
          {
            // The input ended by itself (the publisher's stream finished): finish like a publisher
            // that left. Otherwise the encoder gave up: close and disconnect the publisher.
            guard: ({ event }) => event.clean,
            target: '.ending',
            actions: ['encoderExited', { type: 'setCloseReason', params: { reason: 'publisher-disconnected' } }, 'disconnectPublisher'],
          },
          {
            target: '.ending',
            actions: [
              'encoderExited',
              { type: 'setCloseReason', params: ({ event }) => ({ reason: closeReasonFor(event.error?.code), message: event.error?.message }) },
              'disconnectPublisher',
            ],
          },
        ],
        'xstate.error.actor.*': {
          target: '.ending',
          actions: [
            { type: 'setCloseReason', params: { reason: 'encoder-failed', message: 'an encoder or step actor failed' } },
            'encoderExited',
            'disconnectPublisher',
          ],
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

/** States in which the session is live (accepted and not finished). */
export function isLive(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'live' in value;
}
