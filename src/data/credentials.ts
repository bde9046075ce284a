/**
 * Per-project credentials for the data services: generated once (crypto random) and kept
 * in `projectStateDir(project)/credentials.json`, mode 0600, never in the checkout and
 * never in logs. The data volumes are initialised with them, so they must stay stable
 * for as long as the volumes live.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DevenvError } from '../errors.ts';
import { projectStateDir, writeSecretFile } from '../state/paths.ts';

export interface Credentials {
  version: 1;
  database: { user: string; password: string; rootPassword: string };
  objectStore: { accessKeyId: string; secretAccessKey: string };
}

export function credentialsPath(project: string): string {
  return join(projectStateDir(project), 'credentials.json');
}

/** URL- and shell-safe random secret (base64url alphabet, no padding). */
export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export function generateCredentials(): Credentials {
  return {
    version: 1,
    database: { user: 'devenv', password: randomSecret(), rootPassword: randomSecret() },
    // MinIO: access key 3+ characters, secret key 8+.
    objectStore: {
      accessKeyId: `devenv-${randomBytes(6).toString('hex')}`,
      secretAccessKey: randomSecret(30),
    },
  };
}

/** The project's credentials, or undefined when none were generated yet. */
export function readCredentials(project: string): Credentials | undefined {
  const file = credentialsPath(project);
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Credentials;
    if (!c?.database?.password || !c?.objectStore?.secretAccessKey) throw new Error('incomplete');
    return c;
  } catch (err) {
    throw new DevenvError(
      `${file} is not valid (${(err as Error).message}). Restore it, or run "devenv destroy" to start over with new credentials.`,
    );
  }
}

/** The project's credentials, generated and stored (0600) on first use. */
export function ensureCredentials(project: string): Credentials {
  const have = readCredentials(project);
  if (have) return have;
  const c = generateCredentials();
  writeSecretFile(credentialsPath(project), `${JSON.stringify(c, null, 2)}\n`);
  return c;
}
