/**
 * Yarn evaluates the plugin's factory several times per process: everything
 * that must exist once (patches, per-install sessions) lives on globalThis.
 */
const STATE_KEY = Symbol.for('yarn-plugin-sigstore.state');

export interface GlobalState {
  /** Names of the patches already applied in this process. */
  patched: Set<string>;
  /** One gate session per Project object (an install). */
  sessions: WeakMap<object, unknown>;
}

export function globalState(): GlobalState {
  const holder = globalThis as unknown as Record<symbol, GlobalState | undefined>;
  return (holder[STATE_KEY] ??= { patched: new Set(), sessions: new WeakMap() });
}

/** Runs `apply` once per process for the given patch name. */
export function patchOnce(name: string, apply: () => void): void {
  const state = globalState();
  if (state.patched.has(name)) return;
  apply();
  state.patched.add(name);
}
