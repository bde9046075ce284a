/**
 * When a data service is ready: it answers a real request (the database "SELECT 1", and
 * its host port accepts connections; the object store an S3 ListBuckets), not merely
 * "the container runs". Wait strategies for src/wait.ts's `waitUntil`.
 *
 * Refused credentials end the wait at once (waiting does not change them): the data
 * volume was initialised with other ones.
 */
import { createConnection } from 'node:net';
import { DevenvError } from '../errors.ts';
import { notYet, type ProbeResult, ready, type WaitStrategy } from '../wait.ts';
import { query, SqlError } from './database.ts';
import type { DbTarget } from './engines/types.ts';
import { isAuthError, type ObjectStore } from './s3.ts';
import type { DataAccess } from './types.ts';

const firstLine = (err: unknown): string => (err as Error).message.split('\n')[0] ?? '';
const lastError = (message: string): string => (message ? `last error: ${message}` : '');

/**
 * The database answers "SELECT 1" through the client in its container and, when it has
 * a host port, that port accepts connections. `what` names the container; `credFile`
 * is where the credentials it refuses come from.
 */
export function databaseAnswers(
  t: DbTarget,
  host: DataAccess['database'],
  what: string,
  credFile: string,
): WaitStrategy {
  return {
    describe: `${what} to answer "SELECT 1"${host ? ` and port ${host.host}:${host.port} to accept connections` : ''}`,
    async probe(): Promise<ProbeResult> {
      try {
        await query(t, 'SELECT 1;');
        if (host) await tcpConnect(host.host, host.port);
        return ready();
      } catch (err) {
        if (err instanceof SqlError && err.isAuth) {
          throw new DevenvError(
            `${what} refuses the credentials in ${credFile}: ` +
              'its data volume was initialised with other ones. Run "devenv destroy" to start over (this deletes the data), ' +
              'or restore the credentials file.',
            { details: [firstLine(err)] },
          );
        }
        return notYet(lastError(firstLine(err)));
      }
    },
  };
}

/** The object store answers S3 requests (ListBuckets) with the generated keys. */
export function objectStoreAnswers(
  store: ObjectStore,
  access: NonNullable<DataAccess['objectStore']>,
  what: string,
): WaitStrategy {
  return {
    describe: `${what} to answer S3 requests on ${access.endpoint}`,
    async probe(): Promise<ProbeResult> {
      try {
        await store.listBuckets();
        return ready();
      } catch (err) {
        if (isAuthError(err)) {
          throw new DevenvError(
            `${what} refuses the generated S3 keys: its data volume was initialised with other credentials. ` +
              'Run "devenv destroy" to start over (this deletes the data), or restore the credentials file.',
          );
        }
        return notYet(lastError((err as Error).message));
      }
    },
  };
}

function tcpConnect(host: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const sock = createConnection({ host, port, timeout: 3000 });
    sock.once('connect', () => {
      sock.destroy();
      resolvePromise();
    });
    sock.once('timeout', () => {
      sock.destroy();
      reject(new Error(`connect ${host}:${port} timed out`));
    });
    sock.once('error', reject);
  });
}
