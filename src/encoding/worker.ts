/**
 * The piscina worker entry: `encode` runs one stream's job to its end, `step` one workflow step
 * job. Reports and child PIDs (and, for encode, output events) go to the main thread over the
 * task's MessagePort; `{type:'stop'}` comes back. The final `exited` report is the last message
 * on the port.
 */
import { EncodeJobRunner } from './encode-job';
import type { EncoderReport } from './encoder.types';
import { StepJobRunner } from './step-job';
import type { MainToWorker, StepExited, StepTask, StepWorkerToMain, WorkerTask, WorkerToMain } from './worker.types';

export async function encode(task: WorkerTask): Promise<EncoderReport> {
  const { port, ...rest } = task;
  const post = (message: WorkerToMain) => port.postMessage(message);
  const runner = new EncodeJobRunner(rest, post);
  port.on('message', (message: MainToWorker) => {
    if (message.type === 'stop') runner.stop();
  });
  try {
    const exited = await runner.run();
    post({ type: 'report', report: exited });
    return exited;
  } finally {
    port.close();
  }
}

export async function step(task: StepTask): Promise<StepExited> {
  const { port, ...rest } = task;
  const post = (message: StepWorkerToMain) => port.postMessage(message);
  const runner = new StepJobRunner(rest, post);
  port.on('message', (message: MainToWorker) => {
    if (message.type === 'stop') runner.stop();
  });
  try {
    const exited = await runner.run();
    post({ type: 'report', report: exited });
    return exited;
  } finally {
    port.close();
  }
}
