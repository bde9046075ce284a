/**
 * k3d/cluster.yaml, as devenv renders it for each fixture, is accepted by the REAL k3d
 * CLI (built from its Go module by test/cluster/build.sh): `k3d config migrate` parses it
 * into k3d's config struct and validates it against k3d's own JSON Schema. Creating the
 * cluster needs the k3s image from the internet: that runs in the e2e tier.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderK3dConfig } from '../../src/cluster/k3dconfig.ts';
import { checkConfigFile } from '../../src/config/load.ts';
import { toolMissing } from '../setup/tier.ts';
import { cachedK3d } from '../support/tool-mirror.ts';

const root = join(import.meta.dirname, '..', '..');
const k3d = cachedK3d();
if (!k3d) toolMissing('k3d-config', 'k3d binary missing: run test/cluster/build.sh');

describe.skipIf(!k3d)('k3d accepts the rendered cluster config', () => {
  const out = mkdtempSync(join(tmpdir(), 'devenv-k3d-'));
  for (const fixture of ['pyapp', 'b2b', 'social']) {
    it(`fixtures/${fixture}`, () => {
      const result = checkConfigFile(join(root, 'fixtures', fixture, 'devenv.yaml'));
      if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
      const base = readFileSync(
        join(
          root,
          result.config.cluster.config === 'k3d/cluster.yaml'
            ? 'k3d/cluster.yaml'
            : result.config.cluster.config,
        ),
        'utf8',
      );
      const file = join(out, `${fixture}.yaml`);
      writeFileSync(file, renderK3dConfig(base, 'k3d/cluster.yaml', result.config));
      const r = spawnSync(k3d!, ['config', 'migrate', file, join(out, `${fixture}.out.yaml`)], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toContain('k3d.io/v1alpha5#simple');
    });
  }
  it('with cluster.expose: lan and a project port of its own (address-bound specs, kubeAPI.hostIP)', () => {
    const result = checkConfigFile(join(root, 'fixtures', 'social', 'devenv.yaml'));
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const config = { ...result.config, cluster: { ...result.config.cluster, expose: 'lan' as const } };
    const base = readFileSync(join(root, 'k3d', 'cluster.yaml'), 'utf8').replace(
      'registries:',
      '  - port: 9000\n    nodeFilters: [loadbalancer]\nregistries:',
    );
    const file = join(out, 'lan.yaml');
    writeFileSync(file, renderK3dConfig(base, 'k3d/cluster.yaml', config));
    expect(readFileSync(file, 'utf8')).toContain('0.0.0.0:443:443');
    const r = spawnSync(k3d!, ['config', 'migrate', file, join(out, 'lan.out.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
  it('and rejects a broken one (the check can fail)', () => {
    const file = join(out, 'bad.yaml');
    writeFileSync(file, 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: one\n');
    const r = spawnSync(k3d!, ['config', 'migrate', file, join(out, 'bad.out.yaml')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/Schema Validation failed/);
  });
});
