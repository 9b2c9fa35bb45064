// The profile registry: `--profile <name>` looks a profile up here.
import { requireOneOf } from '../src/engine/config.js';
import type { Profile } from '../src/sweep/axes.js';
import { a100 } from './profiles/a100.js';
import { decoding } from './profiles/decoding.js';
import { h100 } from './profiles/h100.js';
import { smoke } from './profiles/smoke.js';
import { stability } from './profiles/stability.js';

export const PROFILES = { smoke, a100, h100, decoding, stability } as const satisfies Readonly<Record<string, Profile>>;
export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** The profile called `name`; a ConfigError naming `profile` and the choices otherwise. */
export function getProfile(name: string): Profile {
  return PROFILES[requireOneOf('profile', name, PROFILE_NAMES)];
}
