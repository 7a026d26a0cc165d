import { expect } from 'chai';
import { pauseUnlessAborted, runWithRestarts, type RestartableRun } from '../../src/encoding/restart-loop';

type Outcome = { kind: 'ok' } | { kind: 'crash'; stable?: boolean };

/** A job whose runs return `outcomes` in turn (the last one repeats); records when each run started. */
function scripted(outcomes: Outcome[], hooks: { onRun?: (runIndex: number) => void } = {}) {
  const starts: number[] = [];
  let restartsPrepared = 0;
  const job: RestartableRun<Outcome> = {
    run: async (runIndex) => {
      starts.push(Date.now());
      hooks.onRun?.(runIndex);
      return outcomes[Math.min(runIndex, outcomes.length - 1)]!;
    },
    crashed: (o) => o.kind === 'crash',
    wasStable: (o) => o.kind === 'crash' && o.stable === true,
    beforeRestart: async () => { restartsPrepared++; },
  };
  return { job, starts, prepared: () => restartsPrepared };
}

describe('restart loop (encode and step jobs)', () => {
  it('restarts a crashing run at most maxRestarts times, then ends with the last crash and the count', async () => {
    const s = scripted([{ kind: 'crash' }]);
    const end = await runWithRestarts(s.job, { maxRestarts: 3, backoffBaseMs: 1, backoffMaxMs: 4 }, new AbortController().signal);
    expect(end).to.deep.equal({ kind: 'ran', outcome: { kind: 'crash' }, runIndex: 3, restarts: 3 });
    expect(s.starts).to.have.length(4);
    expect(s.prepared()).to.equal(3);
  });

  it('an outcome that is not a crash ends the loop at once', async () => {
    const s = scripted([{ kind: 'crash' }, { kind: 'ok' }]);
    const end = await runWithRestarts(s.job, { maxRestarts: 5, backoffBaseMs: 1, backoffMaxMs: 1 }, new AbortController().signal);
    expect(end).to.deep.equal({ kind: 'ran', outcome: { kind: 'ok' }, runIndex: 1, restarts: 1 });
  });

  it('maxRestarts 0: the first crash ends the job, without a pause', async () => {
    const s = scripted([{ kind: 'crash' }]);
    const end = await runWithRestarts(s.job, { maxRestarts: 0, backoffBaseMs: 10_000, backoffMaxMs: 10_000 }, new AbortController().signal);
    expect(end).to.deep.equal({ kind: 'ran', outcome: { kind: 'crash' }, runIndex: 0, restarts: 0 });
  });

  it('pauses with doubling backoff, capped', async () => {
    const s = scripted([{ kind: 'crash' }]);
    await runWithRestarts(s.job, { maxRestarts: 4, backoffBaseMs: 40, backoffMaxMs: 100 }, new AbortController().signal);
    const gaps = s.starts.slice(1).map((t, i) => t - s.starts[i]!);
    const expected = [40, 80, 100, 100];
    expect(gaps).to.have.length(4);
    gaps.forEach((gap, i) => {
      expect(gap, `pause ${i + 1}`).to.be.at.least(expected[i]! - 2); // timers may fire a ms early
      expect(gap, `pause ${i + 1}`).to.be.below(expected[i]! + 150);
    });
  });

  it('a stable crashed run resets the count', async () => {
    const s = scripted([{ kind: 'crash' }, { kind: 'crash', stable: true }, { kind: 'crash' }]);
    const end = await runWithRestarts(s.job, { maxRestarts: 1, backoffBaseMs: 1, backoffMaxMs: 1 }, new AbortController().signal);
    // run 0 crash → restart 1; run 1 stable crash → count reset, restart 1 again; run 2 crash → no restart left.
    expect(end).to.deep.equal({ kind: 'ran', outcome: { kind: 'crash' }, runIndex: 2, restarts: 1 });
  });

  it('a stop during the pause ends the loop at once, without another run', async () => {
    const stop = new AbortController();
    const s = scripted([{ kind: 'crash' }], { onRun: () => setTimeout(() => stop.abort(), 30) });
    const started = Date.now();
    const end = await runWithRestarts(s.job, { maxRestarts: 5, backoffBaseMs: 10_000, backoffMaxMs: 10_000 }, stop.signal);
    expect(end).to.deep.equal({ kind: 'stopped-while-waiting', restarts: 1 });
    expect(Date.now() - started).to.be.below(2000);
    expect(s.starts).to.have.length(1);
    expect(s.prepared()).to.equal(0);
  });

  it('a crash after the stop request is not restarted', async () => {
    const stop = new AbortController();
    const s = scripted([{ kind: 'crash' }], { onRun: () => stop.abort() });
    const end = await runWithRestarts(s.job, { maxRestarts: 5, backoffBaseMs: 1, backoffMaxMs: 1 }, stop.signal);
    expect(end).to.deep.equal({ kind: 'ran', outcome: { kind: 'crash' }, runIndex: 0, restarts: 0 });
  });

  it('pauseUnlessAborted: true after the full wait; false at once when already aborted', async () => {
    const started = Date.now();
    expect(await pauseUnlessAborted(30, new AbortController().signal)).to.equal(true);
    expect(Date.now() - started).to.be.at.least(28);
    const aborted = new AbortController();
    aborted.abort();
    const t = Date.now();
    expect(await pauseUnlessAborted(10_000, aborted.signal)).to.equal(false);
    expect(Date.now() - t).to.be.below(1000);
  });
});
