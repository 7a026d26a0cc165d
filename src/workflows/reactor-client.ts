/**
 * mmids' `simple_http` reactor executor: `POST {url}` with `Content-Type: application/json` and
 * `{"stream_name": "…"}`. 200 → the body is workflow config text (no workflow at all is a valid
 * answer); 404 → the stream name is not valid. Any other status, a network error, a timeout or a
 * body that is not valid workflow text is retried (3 attempts in all, `retryDelayMs` apart, as
 * mmids) and then counts as not valid.
 */
import type { Logger } from '../logging/logger';
import { ConfigSyntaxError } from '../config/config-format';
import { parseWorkflowList } from './definition';
import { WorkflowError } from './steps';
import type { ReactorDefinition, WorkflowDefinition } from './workflow.types';

export type ReactorAnswer =
  | { valid: true; workflows: WorkflowDefinition[] }
  | { valid: false; why: string };

export interface ReactorClientOptions {
  /** One attempt may take this long. */
  timeoutMs: number;
  /** Pause between attempts. */
  retryDelayMs: number;
  /** Attempts in all (mmids: 3). */
  attempts?: number;
  logger: Logger;
}

type Attempt = { final: true; answer: ReactorAnswer } | { final: false; why: string };

export class ReactorClient {
  readonly #attempts: number;

  constructor(private readonly options: ReactorClientOptions) {
    this.#attempts = options.attempts ?? 3;
  }

  /** Never rejects; `signal` abandons the question (the answer is then "not valid"). */
  async ask(reactor: ReactorDefinition, streamName: string, signal?: AbortSignal): Promise<ReactorAnswer> {
    const log = this.options.logger.child({ reactor: reactor.name, stream: streamName });
    let why = '';
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (attempt > 1 && !(await pause(this.options.retryDelayMs, signal))) break;
      if (signal?.aborted === true) break;
      const result = await this.#once(reactor, streamName, signal);
      if (result.final) {
        log.debug({ valid: result.answer.valid, attempt }, 'reactor answered');
        return result.answer;
      }
      why = result.why;
      log.warn({ attempt, of: this.#attempts, why }, 'reactor request failed');
    }
    return { valid: false, why: signal?.aborted === true ? 'the stream ended before the reactor answered' : `reactor ${reactor.name} failed ${this.#attempts} times (last: ${why})` };
  }

  async #once(reactor: ReactorDefinition, streamName: string, outer?: AbortSignal): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = outer === undefined ? timeout : AbortSignal.any([timeout, outer]);
    let status: number;
    let body: string;
    try {
      const response = await fetch(reactor.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream_name: streamName }),
        signal,
      });
      status = response.status;
      body = await response.text();
    } catch (err) {
      const timedOut = timeout.aborted;
      return { final: false, why: timedOut ? `no answer within ${this.options.timeoutMs} ms` : `request failed: ${(err as Error).message}` };
    }
    if (status === 404) return { final: true, answer: { valid: false, why: `reactor ${reactor.name} answered 404 for ${streamName}` } };
    if (status !== 200) return { final: false, why: `status ${status}` };
    try {
      return { final: true, answer: { valid: true, workflows: parseWorkflowList(body) } };
    } catch (err) {
      if (err instanceof ConfigSyntaxError || err instanceof WorkflowError) return { final: false, why: `unparsable answer: ${err.message}` };
      throw err;
    }
  }
}

/** Resolves true after `ms`, false at once if `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    timer.unref(); // a pending retry never keeps a stopping process alive
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
