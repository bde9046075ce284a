/** Reads a tar stream as the tests check it: entry names in order, and each file's mode and text. */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

export type TarFiles = Map<string, { mode: number; body: string }>;

/** Unpacks `stream` in memory; rejects with the stream's own error (e.g. a context that changed while read). */
export async function untar(stream: Readable): Promise<{ names: string[]; files: TarFiles }> {
  const ex = tar.extract();
  const names: string[] = [];
  const files: TarFiles = new Map();
  const done = new Promise<void>((res, rej) => {
    ex.on('entry', (h, s, next) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      s.on('end', () => {
        names.push(h.name);
        files.set(h.name, { mode: h.mode, body: Buffer.concat(chunks).toString() });
        next();
      });
      s.resume();
    });
    ex.on('finish', () => res());
    ex.on('error', rej);
  });
  stream.on('error', (err) => ex.destroy(err));
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return { names, files };
}
