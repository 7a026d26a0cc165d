/**
 * Value parsers for configuration variables. Each returns the parsed value or throws a
 * `ConfigValueError` whose message says what is accepted; `loadConfig` prefixes the variable name.
 */

export class ConfigValueError extends Error {}

export type Parser<T> = (raw: string) => T;

export const text: Parser<string> = (raw) => raw;

export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const s = raw.trim();
    if (!/^-?\d+$/.test(s)) throw new ConfigValueError(`must be a whole number from ${min} to ${max}`);
    const n = Number(s);
    if (n < min || n > max) throw new ConfigValueError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

export function decimal(min: number, max: number): Parser<number> {
  return (raw) => {
    const s = raw.trim();
    if (!/^\d+(\.\d+)?$/.test(s)) throw new ConfigValueError(`must be a number from ${min} to ${max}`);
    const n = Number(s);
    if (n < min || n > max) throw new ConfigValueError(`must be a number from ${min} to ${max}`);
    return n;
  };
}

export const port: Parser<number> = integer(0, 65535);

export const boolean: Parser<boolean> = (raw) => {
  const s = raw.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(s)) return true;
  if (['false', 'no', '0', 'off'].includes(s)) return false;
  throw new ConfigValueError('must be true or false (also accepted: yes/no, 1/0, on/off)');
};

/** One of a fixed set of words, matched case-insensitively; returns the canonical spelling. */
export function oneOf<T extends string>(...choices: T[]): Parser<T> {
  return (raw) => {
    const s = raw.trim().toLowerCase();
    const hit = choices.find((c) => c.toLowerCase() === s);
    if (hit === undefined) throw new ConfigValueError(`must be one of ${choices.join(', ')}`);
    return hit;
  };
}

export const httpUrl: Parser<string> = (raw) => {
  const s = raw.trim();
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ConfigValueError('must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigValueError('must be an absolute http:// or https:// URL');
  }
  return s;
};
