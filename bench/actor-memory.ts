/**
 * Memory per idle stream actor: 10,000 publish sessions held in `verifying` (the key verification
 * never answers), heap measured after GC before and after.
 *
 *   npm run pretest && node --expose-gc dist-test/bench/actor-memory.js [sessions=10000]
 */
import { Coordinator } from '../src/coordinator/coordinator';
import { silentLogger } from '../src/logging/logger';
import { defaultWorkflowOptions } from '../test/fakes/workflows';

const sessions = Number(process.argv[2] ?? 10_000);

function heap(): number {
  (global as { gc?: () => void }).gc?.();
  (global as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function main() {
  if (!(global as { gc?: unknown }).gc) throw new Error('run with node --expose-gc');
  const coordinator = new Coordinator({
    verifier: { verify: () => new Promise(() => {}) },
    events: { streamStarted() {}, available() {}, streamClosed() {} },
    policy: { maxRestarts: 0, restartBaseMs: 10, stopTimeoutMs: 100 },
    idMaxLength: 128,
    logger: silentLogger,
    ...defaultWorkflowOptions(),
  });
  coordinator.addEncoder({ id: 1, capacity: -1, start: () => ({ stop() {} }) });
  const before = heap();
  const started = Date.now();
  for (let i = 0; i < sessions; i++) {
    void coordinator.publish({
      channel: `channel-${i}`, key: `key-${i}`, userIp: '203.0.113.9', ingest: 'WS', serverId: 1,
      source: { type: 'WS', uri: `ws://127.0.0.1:8080/channel-${i}/key-${i}` }, disconnect() {},
    });
  }
  const elapsed = Date.now() - started;
  const after = heap();
  if (coordinator.sessionCount() !== sessions) throw new Error(`expected ${sessions} sessions, got ${coordinator.sessionCount()}`);
  const perSession = (after - before) / sessions / 1024;
  console.log(JSON.stringify({ sessions, heapBeforeMiB: +(before / 2 ** 20).toFixed(1), heapAfterMiB: +(after / 2 ** 20).toFixed(1), kibPerSession: +perSession.toFixed(2), createMs: elapsed }, null, 2));
  process.exit(0);
}

void main();
