/**
 * What every pane renderer of the view reads: the state plus what is derived from it once
 * per view (the service list, pods by service, the events in display order, the log search,
 * each service's colour), and the small drawing helpers the panes share.
 *
 * Pure module: no I/O, no clock (`now` comes from the view options).
 */
import {
  type KubeEvent,
  type PodInfo,
  type ServiceState,
  type State,
  selectedService,
  serviceList,
} from '../../store/state.ts';
import { compileSearch, type Search } from '../search.ts';
import { paint, strWidth, truncate } from '../text.ts';
import type { ViewOptions } from './types.ts';

const SERVICE_COLORS = ['cyan', 'green', 'yellow', 'magenta', 'blue', 'white'] as const;

export interface Ctx {
  state: Readonly<State>;
  /** `up` runs or failed: its steps pane is shown. */
  starting: boolean;
  now: number;
  color: boolean;
  width: number;
  services: ServiceState[];
  selected: ServiceState | undefined;
  podsByService: Map<string, PodInfo[]>;
  eventItems: EventItem[];
  serviceColor: (name: string) => string;
  /** The log search (ui.filter compiled), undefined without one. */
  search: Search | undefined;
}

export interface EventItem {
  warning: boolean;
  when?: number;
  object: string;
  reason: string;
  message: string;
  count: number;
}

export function makeContext(state: Readonly<State>, opts: ViewOptions, width: number): Ctx {
  const services = serviceList(state);
  const podsByService = new Map<string, PodInfo[]>();
  for (const p of state.pods.values()) {
    const list = podsByService.get(p.service);
    if (list) list.push(p);
    else podsByService.set(p.service, [p]);
  }
  for (const list of podsByService.values())
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const colorIndex = new Map(services.map((s, i) => [s.name, i]));
  return {
    state,
    starting: state.up.phase === 'starting' || state.up.phase === 'failed',
    now: Number.isFinite(opts.now) ? opts.now : 0,
    color: opts.color,
    width,
    services,
    selected: selectedService(state),
    podsByService,
    eventItems: eventItems(state),
    search: state.ui.filter === '' ? undefined : compileSearch(state.ui.filter),
    serviceColor: (name) =>
      SERVICE_COLORS[(colorIndex.get(name) ?? hash(name)) % SERVICE_COLORS.length] ?? 'white',
  };
}

/** Failed steps first (they block `up`), then Warnings, then Normal events; newest first. */
function eventItems(state: Readonly<State>): EventItem[] {
  const items: EventItem[] = [];
  for (const s of state.steps.values()) {
    if (s.phase !== 'fail') continue;
    items.push({
      warning: true,
      object: `step ${s.id}`,
      reason: 'Failed',
      message: s.error ?? s.detail ?? '',
      count: 1,
    });
  }
  const events = [...state.events.values()].sort(
    (a: KubeEvent, b: KubeEvent) =>
      Number(b.type === 'Warning') - Number(a.type === 'Warning') ||
      b.lastSeen - a.lastSeen ||
      (a.object < b.object ? -1 : a.object > b.object ? 1 : 0),
  );
  for (const e of events) {
    items.push({
      warning: e.type === 'Warning',
      when: e.lastSeen,
      object: e.object,
      reason: e.reason,
      message: e.message,
      count: e.count,
    });
  }
  return items;
}

// ---- header ---------------------------------------------------------------------------

function hash(s: string): number {
  let h = 5381;
  for (let i = 0; i < s.length; i++) h = ((h * 33) ^ s.charCodeAt(i)) >>> 0;
  return h;
}

/** A piece of a line and its blessed style. */
export type Seg = [text: string, style?: string];

/** Joins styled segments, truncated to `width` columns (a cut segment ends with "…"). */
export function segs(list: Seg[], width: number, color: boolean): string {
  let out = '';
  let used = 0;
  for (const [text, style] of list) {
    if (text === '') continue;
    const w = strWidth(text);
    if (used + w > width) {
      out += paint(truncate(text, width - used), style, color);
      return out;
    }
    out += paint(text, style, color);
    used += w;
  }
  return out;
}

/** A pane's title row: "─ title ───…", the full width. */
export function rule(title: string, width: number, color: boolean, style = 'bold'): string {
  const t = truncate(`─ ${title} `, width);
  return paint(t + '─'.repeat(Math.max(0, width - strWidth(t))), style, color);
}

/** The distinguishing suffix of a pod name: "api-7d9f8c-x1k2p" -> "x1k2p". */
export function podShort(name: string): string {
  const i = name.lastIndexOf('-');
  return i >= 0 && i < name.length - 1 ? name.slice(i + 1) : name;
}
