/** Config tests: load from a given environment only (no .env, a fixed cwd), or collect the problems it has. */
import { ConfigError, loadConfig, type Config } from '../../src/config/config';

export function loadFrom(env: Record<string, string>): Readonly<Config> {
  return loadConfig({ env, dotenvPath: null, cwd: '/srv/castline' });
}

/** The problems `loadConfig` names for `env` (none: []). */
export function problemsOf(load: (env: Record<string, string>) => unknown, env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
