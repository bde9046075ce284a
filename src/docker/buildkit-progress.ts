/**
 * BuildKit's build progress → `docker build --progress=plain`-like lines. Part of the
 * Docker adapter: src/docker/images.ts imports this module only for a BuildKit build, so
 * protobufjs is loaded by the first BuildKit build and never by other commands.
 *
 * A BuildKit build through the engine's /build endpoint reports progress as JSON messages
 * with id "moby.buildkit.trace" whose `aux` is a base64 moby.buildkit.v1.StatusResponse
 * (github.com/moby/buildkit api/services/control/control.proto). The part of it devenv
 * shows is declared below and decoded by protobufjs (the light build: descriptors from
 * JSON, no .proto parser); fields not declared (statuses = transfer counters, progress
 * groups, warning source ranges) are skipped by the decoder.
 */
import { StringDecoder } from 'node:string_decoder';
import protobuf from 'protobufjs/light.js';

const timestamp = { type: 'google.protobuf.Timestamp' };

/** The subset of control.proto devenv reads; field numbers as in control.proto. */
const root = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
      },
    },
    moby: {
      nested: {
        buildkit: {
          nested: {
            v1: {
              nested: {
                StatusResponse: {
                  fields: {
                    vertexes: { rule: 'repeated', type: 'Vertex', id: 1 },
                    logs: { rule: 'repeated', type: 'VertexLog', id: 3 },
                    warnings: { rule: 'repeated', type: 'VertexWarning', id: 4 },
                  },
                },
                Vertex: {
                  fields: {
                    digest: { type: 'string', id: 1 },
                    inputs: { rule: 'repeated', type: 'string', id: 2 },
                    name: { type: 'string', id: 3 },
                    cached: { type: 'bool', id: 4 },
                    started: { ...timestamp, id: 5 },
                    completed: { ...timestamp, id: 6 },
                    error: { type: 'string', id: 7 },
                  },
                },
                VertexLog: {
                  fields: {
                    vertex: { type: 'string', id: 1 },
                    timestamp: { ...timestamp, id: 2 },
                    stream: { type: 'int64', id: 3 },
                    msg: { type: 'bytes', id: 4 },
                  },
                },
                VertexWarning: {
                  fields: {
                    vertex: { type: 'string', id: 1 },
                    level: { type: 'int64', id: 2 },
                    short: { type: 'bytes', id: 3 },
                    detail: { rule: 'repeated', type: 'bytes', id: 4 },
                    url: { type: 'string', id: 5 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
});
const StatusResponse = root.lookupType('moby.buildkit.v1.StatusResponse');

/** google.protobuf.Timestamp, int64 as number (`longs: Number`). */
interface Timestamp {
  seconds?: number;
  nanos?: number;
}

/** A decoded StatusResponse as plain data: fields absent from the message are absent here. */
interface Status {
  vertexes?: Array<{
    digest?: string;
    name?: string;
    cached?: boolean;
    started?: Timestamp;
    completed?: Timestamp;
    error?: string;
  }>;
  logs?: Array<{ vertex?: string; msg?: Uint8Array }>;
  warnings?: Array<{ vertex?: string; short?: Uint8Array }>;
}

const ms = (t: Timestamp | undefined): number | undefined =>
  t ? (t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : undefined;

interface VertexState {
  n: number;
  name: string;
  announced: boolean;
  finished: boolean;
  startedMs?: number;
}

/**
 * Turns BuildKit's progress messages (moby.buildkit.v1.StatusResponse, base64) into plain
 * lines, the way `docker build --progress=plain` prints them: each step numbered in the
 * order it appears (`#3 [2/5] COPY app.py ./`), its output line by line (`#3 <line>`),
 * then `#3 CACHED`, `#3 DONE 0.2s` or `#3 ERROR: <why>`; warnings as `#3 WARNING: ...`.
 * Transfer counters (statuses) are left out. A message that cannot be decoded is skipped.
 */
export class BuildkitProgress {
  readonly #vertices = new Map<string, VertexState>();
  /** Per step: output not yet ended by a newline, and a decoder that keeps a UTF-8
   * character split across two messages whole. */
  readonly #partial = new Map<string, { text: string; utf8: StringDecoder }>();

  push(base64: string): string[] {
    let status: Status;
    try {
      const message = StatusResponse.decode(Buffer.from(base64, 'base64'));
      status = StatusResponse.toObject(message, { longs: Number }) as Status;
    } catch {
      // a message this decoder does not understand: progress only, never the build's outcome
      return [];
    }
    const out: string[] = [];
    for (const v of status.vertexes ?? []) this.#vertex(v, out);
    for (const l of status.logs ?? []) this.#log(l.vertex ?? '', l.msg, out);
    for (const w of status.warnings ?? []) {
      const short = w.short ? Buffer.from(w.short).toString('utf8') : '';
      if (short) out.push(`#${this.#state(w.vertex ?? '').n} WARNING: ${short}`);
    }
    return out;
  }

  /** Output lines still waiting for their newline. */
  flush(): string[] {
    const out: string[] = [];
    for (const [digest, p] of this.#partial) {
      const rest = p.text + p.utf8.end();
      if (rest !== '') out.push(`#${this.#state(digest).n} ${rest}`);
    }
    this.#partial.clear();
    return out;
  }

  #state(digest: string, name = ''): VertexState {
    let v = this.#vertices.get(digest);
    if (!v) {
      v = { n: this.#vertices.size + 1, name, announced: false, finished: false };
      this.#vertices.set(digest, v);
    }
    if (name && !v.name) v.name = name;
    return v;
  }

  #vertex(vertex: NonNullable<Status['vertexes']>[number], out: string[]): void {
    const digest = vertex.digest ?? '';
    const started = ms(vertex.started);
    const completed = ms(vertex.completed);
    const cached = vertex.cached ?? false;
    const error = vertex.error ?? '';
    const v = this.#state(digest, vertex.name ?? '');
    if (started !== undefined) v.startedMs ??= started;
    if (!v.announced && (started !== undefined || completed !== undefined || cached)) {
      v.announced = true;
      out.push(`#${v.n} ${v.name}`);
    }
    if (v.finished || (completed === undefined && !error)) return;
    v.finished = true;
    const partial = this.#partial.get(digest);
    const rest = partial ? partial.text + partial.utf8.end() : '';
    if (rest) out.push(`#${v.n} ${rest}`);
    this.#partial.delete(digest);
    if (error) out.push(`#${v.n} ERROR: ${error}`);
    else if (cached) out.push(`#${v.n} CACHED`);
    else {
      const secs =
        completed !== undefined && v.startedMs !== undefined ? (completed - v.startedMs) / 1000 : 0;
      out.push(`#${v.n} DONE ${secs.toFixed(1)}s`);
    }
  }

  #log(digest: string, msg: Uint8Array | undefined, out: string[]): void {
    const v = this.#state(digest);
    let p = this.#partial.get(digest);
    if (!p) {
      p = { text: '', utf8: new StringDecoder('utf8') };
      this.#partial.set(digest, p);
    }
    const parts = (p.text + (msg ? p.utf8.write(msg) : '')).split('\n');
    p.text = parts.pop() ?? '';
    for (const line of parts) out.push(`#${v.n} ${line.replace(/\r$/, '')}`);
  }
}
