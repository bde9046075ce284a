/**
 * The shapes of the dashboard's view (see tui/view.ts for the contract of `stateToView`):
 * a view is a list of panes, each at its position with its lines.
 */
export interface ViewOptions {
  width: number;
  height: number;
  /** Epoch ms: ages and "x ago" are computed against it (fixed in tests). */
  now: number;
  /** Emit blessed colour tags. */
  color: boolean;
}

export type PaneId =
  | 'header'
  | 'services'
  | 'steps'
  | 'logs'
  | 'events'
  | 'footer'
  | 'help'
  | 'describe'
  | 'small';

export interface Pane {
  id: PaneId;
  top: number;
  left: number;
  width: number;
  height: number;
  /** At most `height` lines, each at most `width` columns once tags are removed. */
  lines: string[];
}

export interface View {
  width: number;
  height: number;
  /** Back to front: an overlay (help, describe) comes last. */
  panes: Pane[];
}
