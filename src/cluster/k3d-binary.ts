/**
 * Which k3d binary devenv runs: `$DEVENV_K3D` (a path, or a name looked up on PATH) when
 * set, else `k3d` from PATH. The ONE place that decides it, so `up`, `down`, `destroy`,
 * `status` and `doctor` all run (and check) the same binary. Pure.
 */
export function k3dBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEVENV_K3D || 'k3d';
}

/** What a user is told when that binary cannot be run (ENOENT), without the install hint. */
export function k3dNotFound(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEVENV_K3D
    ? `k3d not found at DEVENV_K3D=${env.DEVENV_K3D} (unset DEVENV_K3D to use k3d from PATH)`
    : 'k3d not found on PATH';
}
