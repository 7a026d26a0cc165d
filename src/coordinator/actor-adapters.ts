/**
 * The stream machine's job actors (`runEncoder`, `runStep`) on top of the domain's job contracts:
 * each starts one job, turns its reports into stream events, stops it on `STOP` and when the actor
 * is stopped (unless the job already exited).
 */
import { fromCallback } from 'xstate';
import type { EncoderActorInput, StepActorInput, StreamEvent } from '../../actors/stream.events';
import type { Encoder, JobHandle, StepRunner } from '../domain/jobs';

type Receive = (listener: (event: StreamEvent) => void) => void;

/** Stops the job on STOP; the returned cleanup stops it unless it already exited. */
function supervise(handle: JobHandle, exited: () => boolean, receive: Receive): () => void {
  receive((event) => {
    if (event.type === 'STOP') handle.stop();
  });
  return () => {
    if (!exited()) handle.stop();
  };
}

export function encoderActor(encoders: ReadonlyMap<number, Encoder>) {
  return fromCallback<StreamEvent, EncoderActorInput>(({ input, sendBack, receive }) => {
    const { attempt } = input;
    const encoder = encoders.get(input.encoderId);
    if (encoder === undefined) {
      sendBack({ type: 'ENCODER_EXITED', attempt, clean: false, error: { code: 'START_FAILED', message: `encoder ${input.encoderId} is gone` } });
      return () => {};
    }
    let exited = false;
    const job = { channel: input.channel, streamId: input.streamId, source: input.source, settings: input.settings, attempt };
    const handle = encoder.start(job, (report) => {
      if (report.type === 'available') return sendBack({ type: 'ENCODER_OUTPUT', attempt, output: report.output });
      exited = true;
      sendBack({ type: 'ENCODER_EXITED', attempt, clean: report.clean, error: report.error });
    });
    return supervise(handle, () => exited, receive);
  });
}

export function stepActor(runner: StepRunner | null) {
  return fromCallback<StreamEvent, StepActorInput>(({ input, sendBack, receive }) => {
    if (runner === null) {
      sendBack({ type: 'STEP_EXITED', stepId: input.stepId, clean: false, error: { code: 'START_FAILED', message: 'no step runner' } });
      return () => {};
    }
    let exited = false;
    const handle = runner.startStep({ ...input.job, attempt: 0 }, (report) => {
      if (report.type === 'active') return sendBack({ type: 'STEP_ACTIVE', stepId: input.stepId });
      exited = true;
      sendBack({ type: 'STEP_EXITED', stepId: input.stepId, clean: report.clean, error: report.error });
    });
    return supervise(handle, () => exited, receive);
  });
}
