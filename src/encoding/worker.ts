/**
 * The piscina worker entry: `encode` runs one stream's job to its end, `step` one workflow step
 * job. Reports and child PIDs (and, for encode, output events) go to the main thread over the
 * task's MessagePort; `{type:'stop'}` comes back. The final `exited` report is the last message
 * on the port.
 */
import type { MessagePort } from 'node:worker_threads';
import type { EncoderReport } from '../domain/jobs';
import { EncodeJobRunner } from './encode-job';
import { StepJobRunner } from './step-job';
import type { MainToWorker, StepExited, StepTask, StepWorkerToMain, WorkerTask, WorkerToMain } from './worker.types';

/** Runs one job on a pool thread: `stop` messages from the main thread, reports back, the port closed at the end. */
async function runOnPort<R extends { stop(): void; run(): Promise<E> }, E, M>(
  port: MessagePort,
  make: (post: (message: M, transfer?: ArrayBuffer[]) => void) => R,
  final: (exited: E) => M,
): Promise<E> {
  const post = (message: M, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
  const runner = make(post);
  port.on('message', (message: MainToWorker) => {
    if (message.type === 'stop') runner.stop();
  });
  try {
    const exited = await runner.run();
    post(final(exited));
    return exited;
  } finally {
    port.close();
  }
}

export function encode(task: WorkerTask): Promise<EncoderReport> {
  const { port, ...rest } = task;
  return runOnPort<EncodeJobRunner, EncoderReport, WorkerToMain>(port, (post) => new EncodeJobRunner(rest, post), (report) => ({ type: 'report', report }));
}

export function step(task: StepTask): Promise<StepExited> {
  const { port, ...rest } = task;
  return runOnPort<StepJobRunner, StepExited, StepWorkerToMain>(port, (post) => new StepJobRunner(rest, post), (report) => ({ type: 'report', report }));
}
