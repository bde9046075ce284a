/**
 * Where devenv keeps what it generates (credentials, CA, locks, kubeconfig): the user's
 * state directory, never the project checkout, so secrets are not committed by accident.
 * Directories are created 0700; secret files are written 0600 by writeSecretFile.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEVENV_STATE_DIR) return env.DEVENV_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'devenv');
  return join(homedir(), '.local', 'state', 'devenv');
}

export function projectStateDir(project: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateRoot(env), 'projects', project);
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes a secret with mode 0600 from the first byte (no window where it is world-readable). */
export function writeSecretFile(path: string, content: string | Uint8Array): void {
  ensureDir(dirname(path));
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}
