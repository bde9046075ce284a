/**
 * The desired state of a project's data services, from devenv.yaml, the compose files
 * (devenv's own in compose/, or the project's) and the stored credentials.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OBJECT_STORE_ENGINES } from '../config/engines.ts';
import { displayPath } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { badInput, DevenvError } from '../errors.ts';
import {
  type Credentials,
  credentialsPath,
  ensureCredentials,
  generateCredentials,
  readCredentials,
} from './credentials.ts';
import { databaseEngine } from './engines/index.ts';
import type { DbTarget } from './engines/types.ts';
import { type ComposeSource, type DatabasePlan, type DataPlan, objectStoreEngine, planData } from './plan.ts';

/** devenv's own compose files (compose/<name>.yaml at the package root). */
export function defaultComposeFile(name: string): string {
  return fileURLToPath(new URL(`../../compose/${name}.yaml`, import.meta.url));
}

function composeSource(root: string, projectFile: string | undefined, fallback: string): ComposeSource {
  const abs = projectFile ? resolve(root, projectFile) : fallback;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw badInput(
      `cannot read compose file ${displayPath(abs)}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  return { text, file: displayPath(abs), dir: dirname(abs) };
}

/** The database's compose file: `database.compose`, else devenv's own for the engine. */
export function databaseComposeSource(config: Config, root: string): ComposeSource {
  const db = config.database!;
  return composeSource(root, db.compose, defaultComposeFile(databaseEngine(db.engine).compose));
}

/** The compose files of the configured data services (devenv's own, or the project's). */
export function dataComposeSources(
  config: Config,
  root: string,
): { database?: ComposeSource; objectStore?: ComposeSource } {
  return {
    ...(config.database ? { database: databaseComposeSource(config, root) } : {}),
    ...(config.objectStore
      ? {
          objectStore: composeSource(
            root,
            config.objectStore.compose,
            defaultComposeFile(OBJECT_STORE_ENGINES[objectStoreEngine(config)].compose),
          ),
        }
      : {}),
  };
}

/**
 * The desired state. Credentials are generated (once) unless `readOnly`, in which case
 * a project without credentials gets a DevenvError telling to run `devenv up`.
 */
export function resolveDataPlan(config: Config, root: string, opts: { readOnly?: boolean } = {}): DataPlan {
  let credentials: Credentials | undefined;
  if (opts.readOnly) {
    credentials = readCredentials(config.project);
  } else if (config.database || config.objectStore) {
    credentials = ensureCredentials(config.project);
  }
  const plan = planData({
    config,
    root,
    // Without stored credentials (read-only use before the first up), throwaway ones still
    // let the compose files be validated, so bad input is reported first.
    credentials: credentials ?? generateCredentials(),
    ...dataComposeSources(config, root),
    env: process.env,
  });
  if (!credentials && (config.database || config.objectStore)) {
    throw new DevenvError(
      `no credentials for project "${config.project}" yet (${credentialsPath(config.project)}); run "devenv up" first.`,
    );
  }
  return plan;
}

/** The planned database container as the client inside it reaches the server. */
export function dbTarget(plan: DatabasePlan, creds: Credentials): DbTarget {
  return {
    container: plan.containerName,
    engine: plan.engine,
    port: plan.containerPort,
    user: creds.database.user,
    password: creds.database.password,
    rootPassword: creds.database.rootPassword,
    database: plan.databases[0]!,
  };
}
