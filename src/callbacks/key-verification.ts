/**
 * The key-verification client: `POST KEY_VERIFICATION_URL` with an empty body and the headers
 * `x-streaming-channel`, `x-streaming-key`, `x-user-ip`, `Authorization` (docs/spec/coordinator-api.md).
 * Status exactly 200 accepts (the spec: "Any other status code will result in the publishing
 * session to be closed"); any other status, a network error, the timeout
 * (`KEY_VERIFICATION_TIMEOUT`) or the caller's abort refuses. Without a URL every key is accepted
 * with the configured defaults. Never rejects.
 */
import type { Config } from '../config/config';
import { parseStreamSettings, type SettingsDefaults } from '../config/stream-settings';
import type { Logger } from '../logging/logger';
import { CallbackAgents, CallbackTimeoutError, postEmpty } from './callback-request';
import { authorizationHeader } from './http-auth';
import type { KeyVerificationRequest, KeyVerificationAnswer } from './key-verification.types';

export type { KeyVerificationRequest, KeyVerificationAnswer } from './key-verification.types';

export interface KeyVerificationClientOptions {
  config: Pick<Config, 'keyVerification' | 'defaults'>;
  logger: Logger;
  /** Largest answer (headers + body) accepted, in bytes; a larger one refuses the key. Default: unbounded (Node's header limit). */
  maxAnswerBytes?: number;
}

/** Per-call settings that replace the configured ones (a workflow's verify_key / hls_ladder arguments). */
export interface VerifyOverrides {
  url?: string | null;
  timeoutMs?: number | null;
  defaults?: SettingsDefaults;
}

export class KeyVerificationClient {
  private readonly url: URL | null;
  private readonly authorization: string | null;
  private readonly agents = new CallbackAgents();
  private readonly logger: Logger;

  constructor(private readonly options: KeyVerificationClientOptions) {
    const { url, auth } = options.config.keyVerification;
    this.url = url === '' ? null : new URL(url);
    this.authorization = authorizationHeader(auth);
    this.logger = options.logger.child({ component: 'key-verification' });
  }

  /**
   * Asks the application whether `key` may publish on `channel`. Never rejects. `overrides` come
   * from a workflow's `verify_key url= timeout=` and `hls_ladder` arguments.
   */
  async verifyKey(request: KeyVerificationRequest, signal?: AbortSignal, overrides: VerifyOverrides = {}): Promise<KeyVerificationAnswer> {
    const keyVerification = { ...this.options.config.keyVerification, ...(overrides.timeoutMs != null ? { timeoutMs: overrides.timeoutMs } : {}) };
    const defaults = overrides.defaults ?? this.options.config.defaults;
    const url = overrides.url != null ? new URL(overrides.url) : this.url;
    if (url === null) {
      this.logger.debug({ ch: request.channel }, 'no KEY_VERIFICATION_URL: key accepted with the defaults');
      return { accepted: true, ...parseStreamSettings({}, defaults) };
    }
    const headers: Record<string, string> = {
      'x-streaming-channel': request.channel,
      'x-streaming-key': request.key,
      'x-user-ip': request.userIp,
    };
    if (this.authorization !== null) headers['authorization'] = this.authorization;
    try {
      const res = await postEmpty({ url, headers, timeoutMs: keyVerification.timeoutMs, agents: this.agents, signal, maxAnswerBytes: this.options.maxAnswerBytes });
      if (res.status !== 200) return { accepted: false, reason: `key verification answered status ${res.status}` };
      const { settings, warnings } = parseStreamSettings(
        { record: single(res.headers['x-record']), previews: single(res.headers['x-previews']), resolutions: single(res.headers['x-resolutions']) },
        defaults,
      );
      return { accepted: true, settings, warnings };
    } catch (err) {
      return { accepted: false, reason: describe(err, signal) };
    }
  }

  /** Closes idle keep-alive sockets. Verifications still running fail as network errors. */
  close(): void {
    this.agents.destroy();
  }
}

/** Node joins repeated custom headers with ", "; keep that (a list grammar) and treat arrays alike. */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function describe(err: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return 'key verification aborted';
  if (err instanceof CallbackTimeoutError) return `key verification timed out: ${err.message}`;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return `key verification failed: ${typeof code === 'string' && !message.includes(code) ? `${code} ` : ''}${message}`;
}
