/** What one publish session runs, derived from its workflow (src/workflows/plan.ts), and the state of its steps. */
import type { StepJob } from './jobs';
import type { MediaSource } from './stream';

export interface SessionPlan {
  workflow: string;
  /** The session was opened for this workflow by an internal source (ffmpeg_pull), not routed to it. */
  pinned: boolean;
  /** Key verification; null = the workflow has no verify_key step (every key accepted). */
  verify: { url: string | null; timeoutMs: number | null } | null;
  /** The HLS ladder; null = no hls_ladder step (no encoder is used). */
  ladder: { resolutions: string | null; record: boolean | null; previews: string | null; source: MediaSource } | null;
  /** One supervised ffmpeg per media step, in order. */
  steps: PlannedStep[];
}

export interface PlannedStep {
  /** Step id (forwarded steps: `{forwardStepId}>{stepId}`). */
  id: string;
  type: string;
  /** The workflow the step belongs to (differs for forwarded steps). */
  workflow: string;
  job: Omit<StepJob, 'attempt'>;
}

/** A media step's state within one session, as shown by `GET /workflows/{name}`. */
export type StepState = 'Created' | 'Active' | 'Stopping' | 'Ended' | `Error: ${string}`;
