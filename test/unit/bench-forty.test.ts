/**
 * The forty-service benchmark project (test/bench/forty.ts) is a valid devenv project: the
 * real CLI's `config validate` accepts it, and its manifests load and render (devenv's dev
 * render, as `up` does before anything is created) into 40 Deployments and 40 Services in
 * 4 namespaces, each image replaced by its service's. No Docker, no cluster.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { DEV, renderEnvironment } from '../../src/engine/render.ts';
import { loadManifests } from '../../src/manifests/load.ts';
import type { SourceDoc } from '../../src/manifests/types.ts';
import { generateForty } from '../bench/forty.ts';
import { DEVENV } from '../support/fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'devenv-forty-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the forty-service benchmark project', async () => {
  const p = await generateForty(dir, { project: 'fortyu', context: 'devenv-test', databasePort: 15432 });

  it('passes `devenv config validate` through the real loader', () => {
    const r = spawnSync(process.execPath, [DEVENV, 'config', 'validate', p.file], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('project "fortyu", 40 service(s)');
    expect(r.status).toBe(0);
  });

  it('has 40 services in 4 namespaces, one Postgres on the local test image, the context allow-listed', () => {
    const { config, root } = loadConfig(p.file);
    expect(config.services).toHaveLength(40);
    expect(new Set(config.services.map((s) => s.name)).size).toBe(40);
    expect(p.namespaces).toEqual(['fortyu-back', 'fortyu-b2b', 'fortyu-front-web', 'fortyu-ops']);
    expect(config.database).toMatchObject({
      engine: 'postgres',
      image: 'devenv-test/postgres:15',
      port: 15432,
    });
    expect(config.cluster.allowContexts).toEqual(['devenv-test']);
    for (const s of config.services) {
      expect(s.buildArgs.BASE_IMAGE).toBe('devenv-test/python:3.11');
      expect(existsSync(join(root, s.context, 'Dockerfile'))).toBe(true);
    }
  });

  it('renders 40 Deployments and 40 Services, 10 per namespace, with the built images', async () => {
    const { config, root } = loadConfig(p.file);
    const docs = new Map<string, SourceDoc[]>();
    for (const s of config.services) docs.set(s.name, await loadManifests(s.manifests as string[], { root }));
    const images = Object.fromEntries(
      config.services.map((s) => [s.image!, `localhost:5001/${s.image}:t-${s.name}`]),
    );
    const r = await renderEnvironment(config, DEV, docs, images, { dry: true });
    expect(r.namespaces).toEqual([...p.namespaces].sort());
    const deployments = r.objects.filter((o) => o.id.kind === 'Deployment');
    expect(deployments).toHaveLength(40);
    expect(r.objects.filter((o) => o.id.kind === 'Service')).toHaveLength(40);
    for (const ns of p.namespaces) expect(deployments.filter((o) => o.id.namespace === ns)).toHaveLength(10);
    for (const d of deployments) {
      const c = (d.object.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template
        .spec.containers[0]!;
      expect(c.image).toBe(`localhost:5001/fortyu/${d.id.name}:t-${d.id.name}`);
    }
  });

  it('is deterministic apart from the database port', async () => {
    const other = mkdtempSync(join(tmpdir(), 'devenv-forty-unit-'));
    try {
      const q = await generateForty(other, {
        project: 'fortyu',
        context: 'devenv-test',
        databasePort: 15432,
      });
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(q.file, 'utf8')).toBe(readFileSync(p.file, 'utf8'));
      expect(q.services).toEqual(p.services);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
