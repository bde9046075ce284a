/**
 * A real terminal for the dashboard tests: tmux on a server socket of the test's own (never
 * the user's server), one session read as text the way a user sees it.
 */
import { execFileSync } from 'node:child_process';

/** `tmux` on `socket`, the `session`'s visible screen, and keys typed into it. */
export function tmuxSession(socket: string, session: string) {
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  return {
    tmux,
    screen: () => tmux('capture-pane', '-p', '-t', session),
    keys: (...k: string[]) => tmux('send-keys', '-t', session, ...k),
  };
}

/** `s` as one sh word, single-quoted. */
export const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
