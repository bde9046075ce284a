/**
 * A local test command (`prerelease test --command`): the namespace's endpoints as its
 * environment, its output echoed and logged, its whole process group stopped on timeout.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { DATA_SECRET_NAME } from '../data/secret.ts';
import type { KubeClient } from '../kube/client.ts';
import { listIngressHosts, listServices, readSecretData } from './cluster.ts';

/** Environment for a local test command: the namespace's endpoints, as pods would see them. */
export async function endpointEnv(client: KubeClient, namespace: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = { PRERELEASE_NAMESPACE: namespace, DEVENV_NAMESPACE: namespace };
  const secret = await readSecretData(client, namespace, DATA_SECRET_NAME).catch(() => undefined);
  if (secret) Object.assign(vars, secret.data);
  for (const s of await listServices(client, namespace)) {
    const key = s.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const port = s.ports[0]?.port;
    vars[`${key}_SERVICE_HOST`] = s.clusterIP;
    if (port !== undefined) {
      vars[`${key}_SERVICE_PORT`] = String(port);
      vars[`DEVENV_URL_${key}`] = `http://${s.clusterIP}:${port}`;
    }
  }
  for (const i of await listIngressHosts(client, namespace)) {
    const key = i.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    vars[`DEVENV_INGRESS_${key}`] ??= `${i.tls ? 'https' : 'http'}://${i.host}`;
  }
  return vars;
}

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
}

export function runCommand(
  command: string,
  o: {
    cwd: string;
    env: Readonly<Record<string, string | undefined>>;
    timeoutMs: number;
    logFile: string;
    output: NodeJS.WritableStream;
  },
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(o.logFile);
    // Its own process group, so a timeout stops the command and everything it started.
    const child = spawn('sh', ['-c', command], {
      cwd: o.cwd,
      env: o.env as NodeJS.ProcessEnv,
      detached: true,
    });
    let timedOut = false;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 10_000).unref();
    }, o.timeoutMs);
    const tee = (chunk: Buffer) => {
      log.write(chunk);
      o.output.write(chunk);
    };
    child.stdout.on('data', tee);
    child.stderr.on('data', tee);
    child.on('error', (err) => {
      clearTimeout(timer);
      log.end();
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end(() => resolvePromise({ exitCode: code, signal, timedOut }));
    });
  });
}
