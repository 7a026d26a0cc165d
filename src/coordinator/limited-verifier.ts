/**
 * The session verifier with the encoding limits applied to what it accepted (`encoding/limits.ts`):
 * whichever source the settings came from (the application's answer, a workflow's hls_ladder
 * arguments, the configured defaults), the stream gets them within bounds, and the log names what
 * was dropped or changed.
 */
import type { EncodingLimits } from '../domain/settings';
import { applyEncodingLimits } from '../encoding/limits';
import type { Logger } from '../logging/logger';
import type { SessionVerifier } from './coordinator.types';

export function withEncodingLimits(inner: SessionVerifier, limits: EncodingLimits, log: Logger): SessionVerifier {
  return {
    verify: async (request, plan, signal) => {
      const result = await inner.verify(request, plan, signal);
      if (!result.accepted) return result;
      const { settings, warnings } = applyEncodingLimits(result.settings, limits);
      if (warnings.length > 0) log.warn({ ch: request.channel, warnings }, 'stream settings beyond the limits: dropped or changed');
      return { accepted: true, settings };
    },
  };
}
