/**
 * The stream machine as a table of pure transitions: every state × event, computed with xstate's
 * `transition()` on resolved snapshots (no running actor, no effect executed). Each row names the
 * state reached and the effects the machine asks for (emitStarted / emitAvailable / emitClosed /
 * disconnectPublisher / logClosed), including the stale-attempt and late-event rows.
 */
import { expect } from 'chai';
import { createActor, fromCallback, transition } from 'xstate';
import type { StreamContext, StreamEvent } from '../../actors/stream.events';
import { streamMachine } from '../../actors/stream.machine';
import type { SessionPlan } from '../../src/domain/plan';
import type { StreamSettings } from '../../src/domain/settings';

const SETTINGS: StreamSettings = { resolutions: { original: true, rungs: [] }, record: false, previews: null };
const PLAN: SessionPlan = { workflow: 'live', pinned: false, verify: { url: null, timeoutMs: null }, ladder: { resolutions: null, record: null, previews: null, source: { type: 'WS', uri: 'ws://127.0.0.1:1/ch/k' } }, steps: [] };
const OTHER_PLAN: SessionPlan = { ...PLAN, workflow: 'other' };
const OUTPUT = { streamType: 'HLS-LIVE', resolution: '320x180-30', indexFile: 'hls/ch/x/320x180-30/live.m3u8' } as const;
const EFFECTS = new Set(['emitStarted', 'emitAvailable', 'emitClosed', 'disconnectPublisher', 'logClosed']);

type StateName = 'verifying' | 'encoding' | 'available' | 'restarting' | 'ending' | 'closed' | 'rejected';
const VALUE: Record<StateName, unknown> = {
  verifying: 'verifying',
  encoding: { live: 'encoding' },
  available: { live: 'available' },
  restarting: { live: 'restarting' },
  ending: { live: 'ending' },
  closed: 'closed',
  rejected: 'rejected',
};

function context(state: StateName, patch: Partial<StreamContext>): StreamContext {
  const live = state !== 'verifying' && state !== 'rejected';
  return {
    streamId: 'a'.repeat(32), channel: 'ch', key: 'k', userIp: '127.0.0.1', ingest: 'WS', serverId: 1,
    source: PLAN.ladder!.source, policy: { maxRestarts: 2, restartBaseMs: 10, stopTimeoutMs: 100 }, plan: PLAN,
    settings: live ? SETTINGS : null, encoderId: live ? 1 : null, attempt: 1, refusal: null,
    closeReason: state === 'ending' || state === 'closed' ? 'publisher-disconnected' : null, closeMessage: null,
    outputs: state === 'available' ? 1 : 0, publisherConnected: state !== 'ending' && state !== 'closed',
    encoderRunning: state === 'encoding' || state === 'available' || state === 'ending',
    steps: {},
    ...patch,
  };
}

interface Row {
  from: StateName;
  event: StreamEvent | { type: string; [k: string]: unknown };
  to: StateName;
  effects: string[];
  /** Context in the `from` state beyond the defaults. */
  given?: Partial<StreamContext>;
  /** Guard `encoderAvailable` (capacity); default true. */
  capacity?: boolean;
  check?: (c: StreamContext) => void;
}

const done = (output: unknown) => ({ type: 'xstate.done.actor.verifyKey', output });
const exited = (attempt: number, clean: boolean, code?: string) => ({ type: 'ENCODER_EXITED', attempt, clean, ...(code ? { error: { code, message: code } } : {}) });
const output = (attempt: number) => ({ type: 'ENCODER_OUTPUT', attempt, output: OUTPUT });
const ALL_LIVE = ['encoding', 'available', 'restarting', 'ending'] as const;

const rows: Row[] = [
  // ── verifying ──
  { from: 'verifying', event: done({ accepted: true, settings: SETTINGS }), to: 'encoding', effects: ['emitStarted'], check: (c) => expect(c.settings).to.deep.equal(SETTINGS) },
  { from: 'verifying', event: done({ accepted: true, settings: SETTINGS }), capacity: false, to: 'rejected', effects: [], check: (c) => expect(c.refusal?.code).to.equal('CAPACITY_FULL') },
  { from: 'verifying', event: done({ accepted: false, reason: 'no' }), to: 'rejected', effects: [], check: (c) => expect(c.refusal).to.deep.equal({ code: 'KEY_REFUSED', message: 'no' }) },
  { from: 'verifying', event: { type: 'xstate.error.actor.verifyKey', error: new Error('boom') }, to: 'rejected', effects: [], check: (c) => expect(c.refusal?.code).to.equal('KEY_REFUSED') },
  { from: 'verifying', event: { type: 'PUBLISHER_GONE' }, to: 'rejected', effects: [], check: (c) => expect(c.publisherConnected).to.equal(false) },
  { from: 'verifying', event: { type: 'CLOSE_REQUESTED', reason: 'close-command' }, to: 'rejected', effects: [], check: (c) => expect(c.refusal?.code).to.equal('KEY_REFUSED') },
  { from: 'verifying', event: { type: 'SHUTDOWN' }, to: 'rejected', effects: [], check: (c) => expect(c.refusal?.code).to.equal('SHUTTING_DOWN') },
  { from: 'verifying', event: { type: 'WORKFLOW_UPDATED', plan: OTHER_PLAN }, to: 'verifying', effects: [], check: (c) => expect(c.plan.workflow).to.equal('other') },
  { from: 'verifying', event: output(0), to: 'verifying', effects: [] },
  { from: 'verifying', event: exited(0, false, 'WORKER_DIED'), to: 'verifying', effects: [] },
  { from: 'verifying', event: { type: 'STEP_EXITED', stepId: 's', clean: true }, to: 'verifying', effects: [] },
  // ── encoding / available: outputs ──
  { from: 'encoding', event: output(1), to: 'available', effects: ['emitAvailable'], check: (c) => expect(c.outputs).to.equal(1) },
  { from: 'encoding', event: output(0), to: 'encoding', effects: [] }, // stale attempt
  { from: 'available', event: output(1), to: 'available', effects: ['emitAvailable'], check: (c) => expect(c.outputs).to.equal(2) },
  { from: 'available', event: output(0), to: 'available', effects: [] }, // stale attempt
  { from: 'restarting', event: output(1), to: 'restarting', effects: [] }, // the killed run's late output
  { from: 'ending', event: output(1), to: 'ending', effects: ['emitAvailable'] }, // flushed while ending, before stream-closed
  { from: 'ending', event: output(0), to: 'ending', effects: [] },
  // ── encoder exits (no media step running: ending finds everything stopped and closes at once) ──
  { from: 'available', event: exited(1, false, 'WORKER_DIED'), to: 'restarting', effects: [], check: (c) => expect(c.encoderRunning).to.equal(false) },
  { from: 'available', event: exited(1, false, 'WORKER_DIED'), given: { attempt: 2 }, to: 'available', effects: [] }, // stale (attempt 1 ≠ 2)
  { from: 'available', event: exited(2, false, 'WORKER_DIED'), given: { attempt: 2 }, to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'], check: (c) => expect(c.closeReason).to.equal('encoder-failed') }, // restarts used up
  { from: 'available', event: exited(1, false, 'ENCODER_CRASHED'), to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'], check: (c) => expect(c.closeReason).to.equal('encoder-failed') },
  { from: 'encoding', event: exited(1, false, 'INPUT_STALLED'), to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'], check: (c) => expect(c.closeReason).to.equal('input-stalled') },
  { from: 'encoding', event: exited(1, false, 'INVALID_MEDIA'), to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'], check: (c) => expect(c.closeReason).to.equal('invalid-media') },
  { from: 'available', event: exited(1, true), to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'], check: (c) => expect(c.closeReason).to.equal('publisher-disconnected') },
  { from: 'available', event: exited(0, false, 'ENCODER_CRASHED'), to: 'available', effects: [] }, // stale attempt
  { from: 'ending', event: exited(1, true), to: 'closed', effects: ['emitClosed', 'logClosed'] }, // last report: everything stopped
  { from: 'ending', event: exited(0, true), to: 'ending', effects: [] }, // stale: the current run is still flushing
  { from: 'available', event: exited(1, false, 'WORKER_DIED'), given: { publisherConnected: false }, to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'] }, // no restart without a publisher
  { from: 'available', event: exited(1, true), given: { steps: { s1: { state: 'Active', running: true } } }, to: 'ending', effects: ['disconnectPublisher'], check: (c) => expect(c.steps.s1!.state).to.equal('Stopping') }, // waits for its step
  { from: 'ending', event: { type: 'STEP_EXITED', stepId: 's1', clean: true }, given: { encoderRunning: false, steps: { s1: { state: 'Stopping', running: true } } }, to: 'closed', effects: ['emitClosed', 'logClosed'] },
  { from: 'available', event: { type: 'STEP_ACTIVE', stepId: 's1' }, given: { steps: { s1: { state: 'Created', running: true } } }, to: 'available', effects: [], check: (c) => expect(c.steps.s1!.state).to.equal('Active') },
  // ── restarting ──
  { from: 'restarting', event: { type: 'xstate.after.restartBackoff.stream.live.restarting' }, to: 'encoding', effects: [], given: { encoderRunning: false }, check: (c) => { expect(c.attempt).to.equal(2); expect(c.encoderRunning).to.equal(true); } },
  { from: 'restarting', event: { type: 'PUBLISHER_GONE' }, given: { encoderRunning: false }, to: 'closed', effects: ['emitClosed', 'logClosed'], check: (c) => expect(c.closeReason).to.equal('publisher-disconnected') },
  // ── publisher, close, shutdown, workflow in every live state ──
  ...(['encoding', 'available'] as const).flatMap((from): Row[] => [
    { from, event: { type: 'PUBLISHER_GONE' }, to: 'ending', effects: [], check: (c) => { expect(c.closeReason).to.equal('publisher-disconnected'); expect(c.publisherConnected).to.equal(false); } },
    { from, event: { type: 'CLOSE_REQUESTED', reason: 'close-command' }, to: 'ending', effects: ['disconnectPublisher'], check: (c) => expect(c.closeReason).to.equal('close-command') },
    { from, event: { type: 'CLOSE_REQUESTED', reason: 'workflow-removed' }, to: 'ending', effects: ['disconnectPublisher'], check: (c) => expect(c.closeReason).to.equal('workflow-removed') },
    { from, event: { type: 'SHUTDOWN' }, to: 'ending', effects: ['disconnectPublisher'], check: (c) => expect(c.closeReason).to.equal('shutdown') },
    { from, event: { type: 'WORKFLOW_UPDATED', plan: OTHER_PLAN }, to: from, effects: [], check: (c) => expect(c.plan.workflow).to.equal('other') },
    { from, event: { type: 'STEP_ACTIVE', stepId: 'unknown' }, to: from, effects: [] },
    { from, event: { type: 'STEP_EXITED', stepId: 'unknown', clean: false }, to: from, effects: [] },
  ]),
  { from: 'restarting', event: { type: 'CLOSE_REQUESTED', reason: 'close-command' }, given: { encoderRunning: false }, to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'] },
  { from: 'restarting', event: { type: 'SHUTDOWN' }, given: { encoderRunning: false }, to: 'closed', effects: ['disconnectPublisher', 'emitClosed', 'logClosed'] },
  // ── ending ignores what would end it again ──
  { from: 'ending', event: { type: 'PUBLISHER_GONE' }, to: 'ending', effects: [], check: (c) => expect(c.publisherConnected).to.equal(false) },
  { from: 'ending', event: { type: 'CLOSE_REQUESTED', reason: 'close-command' }, to: 'ending', effects: [], check: (c) => expect(c.closeReason).to.equal('publisher-disconnected') },
  { from: 'ending', event: { type: 'SHUTDOWN' }, to: 'ending', effects: [] },
  { from: 'ending', event: { type: 'WORKFLOW_UPDATED', plan: OTHER_PLAN }, to: 'ending', effects: [], check: (c) => expect(c.plan.workflow).to.equal('live') },
  { from: 'ending', event: { type: 'xstate.after.stopTimeout.stream.live.ending' }, to: 'closed', effects: ['emitClosed', 'logClosed'] }, // encoder never reported
  // ── final states take nothing ──
  ...(['closed', 'rejected'] as const).flatMap((from): Row[] =>
    [{ type: 'PUBLISHER_GONE' }, { type: 'SHUTDOWN' }, { type: 'CLOSE_REQUESTED', reason: 'close-command' }, output(1), exited(1, false, 'WORKER_DIED')].map((event) => ({ from, event, to: from, effects: [] })),
  ),
];

function nameOf(value: unknown): StateName {
  if (typeof value === 'string') return value as StateName;
  return (value as { live: StateName }).live;
}

describe('stream machine: transition table (pure, every state × event)', () => {
  for (const row of rows) {
    const label = `${row.from}${row.given ? ` ${JSON.stringify(row.given)}` : ''} + ${row.event.type}${'attempt' in row.event ? `(attempt ${row.event.attempt}${'clean' in row.event ? (row.event.clean ? ', clean' : `, ${(row.event as { error?: { code: string } }).error?.code}`) : ''})` : ''}${'reason' in row.event ? `(${row.event.reason})` : ''}${row.capacity === false ? ' (no capacity)' : ''} → ${row.to}${row.effects.length ? ` [${row.effects.join(', ')}]` : ''}`;
    it(label, () => {
      const machine = streamMachine.provide({ guards: { encoderAvailable: () => row.capacity ?? true } });
      const from = machine.resolveState({ value: VALUE[row.from] as never, context: context(row.from, row.given ?? {}) });
      // A resolved snapshot has no children; the running encoder is a stand-in that is never started
      // (transition() only resolves actions, nothing is sent).
      const children = from.children as Record<string, unknown>;
      if (from.context.encoderRunning) children.encoder = createActor(fromCallback(() => {}));
      for (const [id, step] of Object.entries(from.context.steps)) if (step.running) children[`step:${id}`] = createActor(fromCallback(() => {}));
      const [next, actions] = transition(machine, from, row.event as never);
      expect(nameOf(next.value)).to.equal(row.to);
      expect(actions.map((a) => a.type).filter((t) => EFFECTS.has(t))).to.deep.equal(row.effects);
      row.check?.(next.context);
    });
  }

  it('covers every state', () => {
    expect(new Set(rows.map((r) => r.from))).to.deep.equal(new Set(Object.keys(VALUE)));
    for (const state of ALL_LIVE) expect(rows.filter((r) => r.from === state).length, state).to.be.greaterThan(3);
  });
});
