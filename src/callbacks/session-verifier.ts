/**
 * The coordinator's `SessionVerifier`: a session's key verification as its workflow plans it. No
 * verify_key step → accepted with the hls_ladder step's settings or the configured defaults;
 * otherwise the application is asked (the step's url/timeout, or the environment's) and its answer,
 * or those defaults, decide the settings. Ignored header parts and refusals are logged here.
 */
import { parseStreamSettings, type SettingsDefaults } from '../config/stream-settings';
import type { SessionVerifier } from '../coordinator/coordinator.types';
import type { Logger } from '../logging/logger';
import type { KeyVerificationClient } from './key-verification';

/** `onVerified`: told how long each application verification took, and its outcome (metrics). */
export function sessionVerifier(client: KeyVerificationClient, configured: SettingsDefaults, log: Logger, onVerified?: (seconds: number, accepted: boolean) => void): SessionVerifier {
  return {
    verify: async (request, plan, signal) => {
      const defaults = {
        resolutions: plan.ladder?.resolutions ?? configured.resolutions,
        record: plan.ladder?.record ?? configured.record,
        previews: plan.ladder?.previews ?? configured.previews,
      };
      if (plan.verify === null) return { accepted: true, ...parseStreamSettings({}, defaults) };
      const asked = performance.now();
      const answer = await client.verifyKey(request, signal, { url: plan.verify.url, timeoutMs: plan.verify.timeoutMs, defaults });
      onVerified?.((performance.now() - asked) / 1000, answer.accepted);
      if (answer.accepted && answer.warnings.length > 0) log.warn({ ch: request.channel, warnings: answer.warnings }, 'key verification headers partly ignored');
      if (!answer.accepted) log.info({ ch: request.channel, reason: answer.reason }, 'key refused');
      return answer;
    },
  };
}
