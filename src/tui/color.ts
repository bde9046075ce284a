/**
 * Terminal output helpers shared by commands: colour only on a TTY and never when
 * NO_COLOR is set (https://no-color.org), so pipes and CI logs carry no escape codes.
 */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

const wrap = (code: string, stream: NodeJS.WriteStream) => (s: string) =>
  useColor(stream) ? `\u001b[${code}m${s}\u001b[0m` : s;

export const red = (s: string, stream: NodeJS.WriteStream = process.stderr) => wrap('31', stream)(s);
export const green = (s: string, stream: NodeJS.WriteStream = process.stdout) => wrap('32', stream)(s);
export const yellow = (s: string, stream: NodeJS.WriteStream = process.stdout) => wrap('33', stream)(s);
export const dim = (s: string, stream: NodeJS.WriteStream = process.stdout) => wrap('2', stream)(s);

export function errorLine(message: string): string {
  return `${red('error:')} ${message}`;
}
