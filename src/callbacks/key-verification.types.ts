/**
 * Public types of the key-verification client (docs/spec/coordinator-api.md "Streaming key verification").
 */
import type { StreamSettings } from '../domain/settings';

/** Who wants to publish. Channel and key are validated by ingest before this is asked. */
export interface KeyVerificationRequest {
  channel: string;
  key: string;
  /** The publisher's IP address, sent as `x-user-ip`. */
  userIp: string;
}

export type KeyVerificationAnswer =
  /** Status 200 (or no URL configured). `warnings`: ignored header parts, for the caller to log. */
  | { accepted: true; settings: StreamSettings; warnings: string[] }
  /** Anything else. `reason` is human-readable (status, network error, timeout, abort), for the caller to log. */
  | { accepted: false; reason: string };
