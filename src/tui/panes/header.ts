/**
 * The header pane: project, cluster (and context), up's progress; on tall terminals also the
 * nodes with their readiness, the local CA's status and the data services' health.
 */
import type { State } from '../../store/state.ts';
import { sanitize } from '../text.ts';
import { type Ctx, type Seg, segs } from './context.ts';

export function header(ctx: Ctx, rows: number): string[] {
  const { state, color, width } = ctx;
  const line1: Seg[] = [
    ['devenv', 'bold'],
    [state.project ? ` · ${state.project}` : '', 'bold'],
    ['   cluster ', 'gray-fg'],
    [state.cluster.name || '-'],
  ];
  if (state.cluster.context && state.cluster.context !== state.cluster.name) {
    line1.push([` (context ${state.cluster.context})`]);
  }
  const steps = stepsSummary(state);
  if (steps) line1.push(['   '], steps);
  if (rows === 1) return [segs(line1, width, color)];

  const nodes: Seg[] = [['nodes ', 'gray-fg']];
  if (state.cluster.nodes.length === 0) nodes.push(['-']);
  for (const n of state.cluster.nodes) {
    nodes.push([` ${n.name} `], n.ready ? ['✓', 'green-fg'] : ['✗', 'red-fg']);
  }
  nodes.push(['    CA ', 'gray-fg'], caSeg(state));

  const data: Seg[] = [['data  ', 'gray-fg']];
  // Before up reports its data services, their steps say how far they are.
  const dataSteps =
    state.dataServices.length === 0
      ? (['database', 'objectStore'] as const).flatMap((id) => {
          const st = state.steps.get(id);
          if (!st) return [];
          const health =
            st.phase === 'done' || st.phase === 'skip'
              ? 'healthy'
              : st.phase === 'fail'
                ? 'unhealthy'
                : 'starting';
          return [{ name: id === 'database' ? 'database' : 'object store', health }];
        })
      : [];
  if (state.dataServices.length === 0 && dataSteps.length === 0) data.push([' -']);
  for (const d of dataSteps) data.push([` ${d.name} `], healthSeg(d.health), ['  ']);
  for (const d of state.dataServices) {
    data.push([` ${d.name} `], healthSeg(d.health));
    if (d.endpoint) data.push([` ${d.endpoint}`]);
    data.push(['  ']);
  }
  return [segs(line1, width, color), segs(nodes, width, color), segs(data, width, color)];
}

function stepsSummary(state: Readonly<State>): Seg | undefined {
  let ok = 0;
  const running: string[] = [];
  const failed: string[] = [];
  for (const s of state.steps.values()) {
    if (s.phase === 'done' || s.phase === 'skip') ok++;
    else if (s.phase === 'fail') failed.push(s.id);
    else running.push(s.id);
  }
  const total = state.steps.size;
  if (state.up.phase === 'failed' && failed.length === 0) return ['✗ up failed', 'red-fg bold'];
  if (total === 0) return state.up.phase === 'starting' ? ['… starting', 'yellow-fg'] : undefined;
  if (failed.length > 0) {
    return [`✗ ${failed[0]} failed${failed.length > 1 ? ` (+${failed.length - 1})` : ''}`, 'red-fg bold'];
  }
  if (running.length > 0) return [`… ${running.join(' ')} (${ok}/${total})`, 'yellow-fg'];
  return [`✓ up (${total} steps)`, 'green-fg'];
}

function healthSeg(h: string): Seg {
  switch (h) {
    case 'healthy':
      return ['✓', 'green-fg'];
    case 'starting':
      return ['…', 'yellow-fg'];
    case 'unhealthy':
      return ['✗ unhealthy', 'red-fg'];
    case 'stopped':
      return ['■ stopped', 'red-fg'];
    default:
      return ['?', 'gray-fg'];
  }
}

function caSeg(state: Readonly<State>): Seg {
  const { status, detail } = state.ca;
  const text = detail ? `${status} (${sanitize(detail)})` : status;
  const style =
    status === 'trusted' || status === 'created'
      ? 'green-fg'
      : status === 'untrusted' || status === 'expiring'
        ? 'yellow-fg'
        : status === 'missing'
          ? 'red-fg'
          : 'gray-fg';
  return [text, style];
}

// ---- steps of `up` (while it runs, or after it failed) ----------------------------------
