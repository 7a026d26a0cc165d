/**
 * Names the protocols carry (docs/spec/cluster-protocols.md §1): channel names and stream keys are
 * `^[A-Za-z0-9_-]+$`, at most `maxLength` characters (`ID_MAX_LENGTH`); stream ids are 32 lowercase
 * hex characters, time-ordered.
 */
const NAME = /^[A-Za-z0-9_-]+$/;
const STREAM_ID = /^[0-9a-f]{32}$/;

export function isValidName(value: string, maxLength: number): boolean {
  return value.length > 0 && value.length <= maxLength && NAME.test(value);
}

export function isValidStreamId(value: string): boolean {
  return STREAM_ID.test(value);
}
