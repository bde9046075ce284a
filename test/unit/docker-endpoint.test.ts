/**
 * Docker engine selection (src/docker/endpoint.ts), the pure part: environment + files →
 * endpoint + where it came from, in the docker CLI's order (DOCKER_HOST, then the current
 * context: DOCKER_CONTEXT, else currentContext in the config; else the default socket).
 * The docker tier (test/docker/docker-context.test.ts) runs the same rules on the real engine.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  childDockerEnv,
  contextDirName,
  describeEndpoint,
  dockerodeOptions,
  type ResolveInput,
  resolveDockerEndpoint,
} from '../../src/docker/endpoint.ts';

const HOME = '/home/u';

function meta(name: string, host: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, ...extra } } });
}

/** A file system of `files` (path → text) and directories `dirs`. */
function input(
  env: Record<string, string>,
  files: Record<string, string> = {},
  dirs: string[] = [],
  platform: NodeJS.Platform = 'linux',
): ResolveInput {
  return { env, home: HOME, platform, readFile: (p) => files[p], isDir: (p) => dirs.includes(p) };
}

const metaPath = (dir: string, name: string) =>
  join(dir, 'contexts', 'meta', contextDirName(name), 'meta.json');

describe('docker engine selection', () => {
  it('names a context directory by the sha256 of its name, as docker does', () => {
    expect(contextDirName('colima')).toBe(createHash('sha256').update('colima').digest('hex'));
    expect(contextDirName('default')).toBe(
      '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f',
    );
  });

  it('nothing set: the platform default socket', () => {
    expect(resolveDockerEndpoint(input({}))).toEqual({
      host: 'unix:///var/run/docker.sock',
      source: 'default',
    });
    expect(resolveDockerEndpoint(input({}, {}, [], 'win32')).host).toBe('npipe:////./pipe/docker_engine');
  });

  it('currentContext in ~/.docker/config.json → that context’s Endpoints.docker.Host', () => {
    const dir = join(HOME, '.docker');
    const e = resolveDockerEndpoint(
      input(
        {},
        {
          [join(dir, 'config.json')]: JSON.stringify({ auths: {}, currentContext: 'colima' }),
          [metaPath(dir, 'colima')]: meta('colima', 'unix:///home/u/.colima/default/docker.sock'),
        },
      ),
    );
    expect(e).toEqual({
      host: 'unix:///home/u/.colima/default/docker.sock',
      source: 'currentContext',
      context: 'colima',
      configFile: join(dir, 'config.json'),
    });
    expect(describeEndpoint(e)).toBe(
      `unix:///home/u/.colima/default/docker.sock (docker context "colima", the current context in ${join(dir, 'config.json')})`,
    );
  });

  it('DOCKER_CONFIG moves both the config file and the contexts', () => {
    const dir = '/tmp/cfg';
    const files = {
      [join(dir, 'config.json')]: JSON.stringify({ currentContext: 'a' }),
      [metaPath(dir, 'a')]: meta('a', 'unix:///tmp/a.sock'),
      // Ignored: ~/.docker is not read when DOCKER_CONFIG is set.
      [join(HOME, '.docker', 'config.json')]: JSON.stringify({ currentContext: 'b' }),
    };
    expect(resolveDockerEndpoint(input({ DOCKER_CONFIG: dir }, files))).toMatchObject({
      host: 'unix:///tmp/a.sock',
      context: 'a',
    });
  });

  it('DOCKER_CONTEXT overrides currentContext; DOCKER_HOST wins over both', () => {
    const dir = join(HOME, '.docker');
    const files = {
      [join(dir, 'config.json')]: JSON.stringify({ currentContext: 'a' }),
      [metaPath(dir, 'a')]: meta('a', 'unix:///a.sock'),
      [metaPath(dir, 'b')]: meta('b', 'tcp://10.0.0.2:2375'),
    };
    expect(resolveDockerEndpoint(input({ DOCKER_CONTEXT: 'b' }, files))).toEqual({
      host: 'tcp://10.0.0.2:2375',
      source: 'DOCKER_CONTEXT',
      context: 'b',
    });
    expect(
      resolveDockerEndpoint(input({ DOCKER_CONTEXT: 'b', DOCKER_HOST: 'unix:///h.sock' }, files)),
    ).toEqual({
      host: 'unix:///h.sock',
      source: 'DOCKER_HOST',
    });
    // An empty variable counts as unset, as in the CLI.
    expect(resolveDockerEndpoint(input({ DOCKER_HOST: '', DOCKER_CONTEXT: '' }, files)).context).toBe('a');
  });

  it('the context "default" is the default endpoint, with no metadata needed', () => {
    expect(resolveDockerEndpoint(input({ DOCKER_CONTEXT: 'default' }))).toEqual({
      host: 'unix:///var/run/docker.sock',
      source: 'default',
    });
  });

  it('a context that does not exist, or has no docker endpoint, is an error naming it', () => {
    const dir = join(HOME, '.docker');
    expect(() => resolveDockerEndpoint(input({ DOCKER_CONTEXT: 'gone' }))).toThrow(
      `docker context "gone" (from DOCKER_CONTEXT) does not exist: no ${metaPath(dir, 'gone')}`,
    );
    const cfg = { [join(dir, 'config.json')]: JSON.stringify({ currentContext: 'gone' }) };
    expect(() => resolveDockerEndpoint(input({}, cfg))).toThrow(
      `docker context "gone" (from currentContext in ${join(dir, 'config.json')}) does not exist`,
    );
    const noDocker = { [metaPath(dir, 'k8s')]: JSON.stringify({ Name: 'k8s', Endpoints: {} }) };
    expect(() => resolveDockerEndpoint(input({ DOCKER_CONTEXT: 'k8s' }, noDocker))).toThrow(
      /docker context "k8s" \(from DOCKER_CONTEXT\) has no docker endpoint/,
    );
    expect(() => resolveDockerEndpoint(input({}, { [join(dir, 'config.json')]: '{' }))).toThrow(
      /not valid JSON/,
    );
  });

  it('a context with TLS material: its directory, and SkipTLSVerify', () => {
    const dir = join(HOME, '.docker');
    const tls = join(dir, 'contexts', 'tls', contextDirName('remote'), 'docker');
    const e = resolveDockerEndpoint(
      input(
        { DOCKER_CONTEXT: 'remote' },
        { [metaPath(dir, 'remote')]: meta('remote', 'tcp://h:2376', { SkipTLSVerify: true }) },
        [tls],
      ),
    );
    expect(e).toMatchObject({ tlsDir: tls, skipTLSVerify: true });
    expect(dockerodeOptions(e, { ca: 'C', cert: 'T', key: 'K' })).toMatchObject({
      protocol: 'https',
      host: 'h',
      port: '2376',
      ca: 'C',
      cert: 'T',
      key: 'K',
    });
  });

  it('dockerode options: DOCKER_HOST is left to docker-modem; a context maps to socket, http, ssh', () => {
    expect(dockerodeOptions({ host: 'tcp://x:1', source: 'DOCKER_HOST' })).toBeUndefined();
    expect(dockerodeOptions({ host: 'unix:///run/d.sock', source: 'default' })).toEqual({
      socketPath: '/run/d.sock',
    });
    expect(dockerodeOptions({ host: 'tcp://10.0.0.2:2375', source: 'DOCKER_CONTEXT', context: 'b' })).toEqual(
      {
        protocol: 'http',
        host: '10.0.0.2',
        port: '2375',
      },
    );
    expect(
      dockerodeOptions({ host: 'ssh://me@box:2222', source: 'DOCKER_CONTEXT', context: 's' }),
    ).toMatchObject({ protocol: 'ssh', host: 'box', port: '2222', username: 'me' });
  });

  it('child processes (k3d) get DOCKER_HOST at the chosen engine, no DOCKER_CONTEXT, the context’s TLS', () => {
    const base = { PATH: '/bin', DOCKER_CONTEXT: 'a', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/old' };
    expect(childDockerEnv({ host: 'unix:///a.sock', source: 'DOCKER_CONTEXT', context: 'a' }, base)).toEqual({
      PATH: '/bin',
      DOCKER_HOST: 'unix:///a.sock',
    });
    expect(
      childDockerEnv({ host: 'tcp://h:2376', source: 'DOCKER_CONTEXT', context: 'r', tlsDir: '/tls' }, base),
    ).toEqual({
      PATH: '/bin',
      DOCKER_HOST: 'tcp://h:2376',
      DOCKER_CERT_PATH: '/tls',
      DOCKER_TLS_VERIFY: '1',
    });
    // DOCKER_HOST from the user: their TLS variables stay.
    expect(
      childDockerEnv(
        { host: 'tcp://h:2376', source: 'DOCKER_HOST' },
        { ...base, DOCKER_HOST: 'tcp://h:2376' },
      ),
    ).toMatchObject({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/old' });
    expect(
      childDockerEnv({ host: 'unix:///var/run/docker.sock', source: 'default' }, { PATH: '/bin' }),
    ).toEqual({
      PATH: '/bin',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
    });
  });
});
