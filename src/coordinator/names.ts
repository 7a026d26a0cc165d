/** Channel names and stream keys: `^[A-Za-z0-9_-]+$`, at most `maxLength` characters (cluster-protocols.md §1). */
const NAME = /^[A-Za-z0-9_-]+$/;

export function isValidName(value: string, maxLength: number): boolean {
  return value.length > 0 && value.length <= maxLength && NAME.test(value);
}
