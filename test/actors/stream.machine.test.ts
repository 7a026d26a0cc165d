/**
 * Rules of the stream machine that the coordinator's interface cannot reach, checked on the
 * machine itself with its effects supplied (`provide`).
 */
import { expect } from 'chai';
import { createActor, fromPromise } from 'xstate';
import type { StreamInput } from '../../actors/stream.events';
import { streamMachine, type VerifyInput } from '../../actors/stream.machine';
import type { VerificationOutcome } from '../../src/domain/stream';

const input = (): StreamInput => ({
  streamId: 'a'.repeat(32), channel: 'ch', key: 'k', userIp: '127.0.0.1', ingest: 'WS', serverId: 1,
  source: { type: 'WS', uri: 'ws://127.0.0.1:1/ch/k' },
  policy: { maxRestarts: 0, restartBaseMs: 10, stopTimeoutMs: 100 },
  plan: { workflow: 'live', pinned: false, verify: { url: null, timeoutMs: null }, ladder: null, steps: [] },
});

describe('stream machine', () => {
  for (const [event, code] of [
    [{ type: 'PUBLISHER_GONE' }, 'KEY_REFUSED'],
    [{ type: 'CLOSE_REQUESTED', reason: 'close-command' }, 'KEY_REFUSED'],
    [{ type: 'SHUTDOWN' }, 'SHUTTING_DOWN'],
  ] as const) {
    it(`${event.type} during key verification rejects the session: nothing started, no event`, () => {
      const emitted: string[] = [];
      const machine = streamMachine.provide({
        actors: { verifyKey: fromPromise<VerificationOutcome, VerifyInput>(() => new Promise(() => {})) },
        actions: { emitStarted: () => emitted.push('started'), emitClosed: () => emitted.push('closed') },
      });
      const actor = createActor(machine, { input: input() }).start();
      expect(actor.getSnapshot().value).to.equal('verifying');
      actor.send(event);
      const snap = actor.getSnapshot();
      expect(snap.value).to.equal('rejected');
      expect(snap.status).to.equal('done');
      expect(snap.context.refusal?.code).to.equal(code);
      expect(emitted).to.deep.equal([]);
    });
  }
});
