/**
 * Runs a command in a container through the API server's exec endpoint (client-node's
 * Exec over WebSocket): what sync mode uses to unpack changed files and restart a process.
 * Resolves with the exit code (0 on Success; the ExitCode cause otherwise).
 */
import { PassThrough, Readable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function execInPod(
  client: KubeClient,
  namespace: string,
  pod: string,
  container: string,
  cmd: string[],
  stdin?: Buffer,
): Promise<ExecResult> {
  const exec = new k8s.Exec(client.kubeConfig);
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: { out: Buffer[]; err: Buffer[] } = { out: [], err: [] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const input = stdin ? Readable.from([stdin]) : null;
  const code = await new Promise<number>((resolve, reject) => {
    exec
      .exec(namespace, pod, container, cmd, out, err, input, false, (status) => {
        if (status.status === 'Success') return resolve(0);
        const exit = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
        resolve(exit ? Number(exit) : 1);
      })
      .then((ws) => {
        ws.on('error', reject);
      }, reject);
  });
  return {
    code,
    stdout: Buffer.concat(chunks.out).toString('utf8'),
    stderr: Buffer.concat(chunks.err).toString('utf8'),
  };
}
