// BuildKit's build progress (moby.buildkit.v1.StatusResponse protobuf, base64 in the
// "moby.buildkit.trace" messages of /build) → the plain lines devenv shows and keeps for a
// failed build's details. Messages are written here field by field with protobufjs's
// Writer, numbered as in moby/buildkit api/services/control/control.proto (independently
// of the decoder's descriptors), plus some recorded from a real engine (Docker 20.10).
// Real builds with both builders, the builder choice included, are in
// test/docker/build-reload.test.ts.
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { BuildkitProgress } from '../../src/docker/buildkit-progress.ts';

type Value = number | string | Uint8Array;

/** One protobuf message from (field number, value) pairs: numbers as varints, the rest length-delimited. */
function msg(...fields: Array<[number, Value]>): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [no, v] of fields) {
    if (typeof v === 'number') w.uint32(no * 8).int64(v);
    else if (typeof v === 'string') w.uint32(no * 8 + 2).string(v);
    else w.uint32(no * 8 + 2).bytes(v);
  }
  return w.finish();
}

const ts = (ms: number) => msg([1, Math.floor(ms / 1000)], [2, (ms % 1000) * 1e6]);
const vertex = (digest: string, name: string, extra: Array<[number, Value]> = []) =>
  msg([1, digest], [3, name], ...extra);
const status = (parts: { vertexes?: Uint8Array[]; logs?: Uint8Array[]; warnings?: Uint8Array[] }) =>
  Buffer.from(
    msg(
      ...(parts.vertexes ?? []).map((v): [number, Value] => [1, v]),
      ...(parts.logs ?? []).map((v): [number, Value] => [3, v]),
      ...(parts.warnings ?? []).map((v): [number, Value] => [4, v]),
    ),
  ).toString('base64');
const log = (digest: string, text: string) => msg([1, digest], [3, 1], [4, text]);

describe('BuildKit progress lines', () => {
  it('numbers steps as they appear, with their output, CACHED, DONE and ERROR', () => {
    const p = new BuildkitProgress();
    const out: string[] = [];
    const T = 1_700_000_000_000;
    out.push(...p.push(status({ vertexes: [vertex('sha256:a', '[1/3] FROM base', [[5, ts(T)]])] })));
    out.push(
      ...p.push(
        status({
          vertexes: [
            vertex('sha256:a', '[1/3] FROM base', [
              [5, ts(T)],
              [6, ts(T + 20)],
            ]),
          ],
        }),
      ),
    );
    out.push(
      ...p.push(
        status({
          vertexes: [
            vertex('sha256:b', '[2/3] WORKDIR /app', [
              [4, 1],
              [6, ts(T)],
            ]),
          ],
        }),
      ),
    );
    out.push(...p.push(status({ vertexes: [vertex('sha256:c', '[3/3] RUN make', [[5, ts(T + 100)]])] })));
    // Output arrives in chunks that split lines; a line is shown once it is complete.
    out.push(...p.push(status({ logs: [log('sha256:c', 'cc -c main.c\nmain.c:3:1: err')] })));
    out.push(...p.push(status({ logs: [log('sha256:c', "or: expected ';'\nmake: *** [all] Error 1")] })));
    out.push(
      ...p.push(
        status({
          vertexes: [
            vertex('sha256:c', '[3/3] RUN make', [
              [5, ts(T + 100)],
              [6, ts(T + 400)],
              [7, 'process "/bin/sh -c make" did not complete successfully: exit code: 2'],
            ]),
          ],
        }),
      ),
    );
    expect(out).toEqual([
      '#1 [1/3] FROM base',
      '#1 DONE 0.0s',
      '#2 [2/3] WORKDIR /app',
      '#2 CACHED',
      '#3 [3/3] RUN make',
      '#3 cc -c main.c',
      "#3 main.c:3:1: error: expected ';'",
      '#3 make: *** [all] Error 1',
      '#3 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
    ]);
    expect(p.flush()).toEqual([]);
  });

  it('shows DONE with the step time, warnings, and output without a final newline at the end', () => {
    const p = new BuildkitProgress();
    const T = 1_700_000_000_000;
    const out = [
      ...p.push(status({ vertexes: [vertex('sha256:r', '[2/2] RUN ./build', [[5, ts(T)]])] })),
      ...p.push(status({ logs: [log('sha256:r', 'built 3 files')] })),
      ...p.push(status({ warnings: [msg([1, 'sha256:r'], [2, 1], [3, 'FromAsCasing: ok'])] })),
      ...p.push(
        status({
          vertexes: [
            vertex('sha256:r', '[2/2] RUN ./build', [
              [5, ts(T)],
              [6, ts(T + 1250)],
            ]),
          ],
        }),
      ),
    ];
    expect(out).toEqual([
      '#1 [2/2] RUN ./build',
      '#1 WARNING: FromAsCasing: ok',
      '#1 built 3 files',
      '#1 DONE 1.3s',
    ]);
    expect(p.push(status({ logs: [log('sha256:x', 'tail without newline')] }))).toEqual([]);
    expect(p.flush()).toEqual(['#2 tail without newline']);
  });

  it('keeps a UTF-8 character split across two messages whole, and leaves out transfer counters', () => {
    const p = new BuildkitProgress();
    const text = new TextEncoder().encode('größe ✓\nnäh');
    const counter = msg([1, 'sha256:a'], [2, 'sha256:u'], [3, 'transferring context'], [4, 512], [5, 1024]);
    const out = [
      // a StatusResponse with a VertexStatus (field 2, not decoded) beside a vertex
      ...p.push(
        Buffer.from(
          msg([1, vertex('sha256:u', '[1/1] RUN make', [[5, ts(1_700_000_000_000)]])], [2, counter]),
        ).toString('base64'),
      ),
      ...p.push(status({ logs: [msg([1, 'sha256:u'], [4, text.subarray(0, 3)])] })), // "gr" + half of "ö"
      ...p.push(status({ logs: [msg([1, 'sha256:u'], [4, text.subarray(3, text.length - 2)])] })),
      ...p.push(status({ logs: [msg([1, 'sha256:u'], [4, text.subarray(text.length - 2)])] })),
    ];
    expect(out).toEqual(['#1 [1/1] RUN make', '#1 größe ✓']);
    expect(p.flush()).toEqual(['#1 näh']);
  });

  it('decodes messages recorded from a real engine, and skips what it cannot decode', () => {
    // Docker 20.10, BuildKit, `RUN echo compiling; echo "main.c:3:1: error: expected" >&2; exit 3`:
    // the step starts, writes to stdout and stderr, fails.
    const recorded = [
      'CuoBCkdzaGEyNTY6NzNjMGU5NzQ3MDk5MTdhNzM1Yjc2YzA5NGUyNmJjMDU5Y2I2YjMzYTU3NmVmMWU1YjRhM2ExZTY0ZGJmNGM0MxJHc2hhMjU2OjViNzhlZTZjNTJiMDU3NmY5OWQ5ZWU0NWM4OGNlNTFjNjhiZGUwNTIwNTJiZjZkNTVhZTIzN2MyMTYzYWMxNzMaSFsyLzJdIFJVTiBlY2hvIGNvbXBpbGluZzsgZWNobyAibWFpbi5jOjM6MTogZXJyb3I6IGV4cGVjdGVkIiA+JjI7IGV4aXQgMyoMCOHdkdgGELGJ/a4C',
      'GmUKR3NoYTI1Njo3M2MwZTk3NDcwOTkxN2E3MzViNzZjMDk0ZTI2YmMwNTljYjZiMzNhNTc2ZWYxZTViNGEzYTFlNjRkYmY0YzQzEgwI4d2R2AYQwq/ElAMYASIKY29tcGlsaW5nCg==',
      'GncKR3NoYTI1Njo3M2MwZTk3NDcwOTkxN2E3MzViNzZjMDk0ZTI2YmMwNTljYjZiMzNhNTc2ZWYxZTViNGEzYTFlNjRkYmY0YzQzEgwI4d2R2AYQhOvelAMYAiIcbWFpbi5jOjM6MTogZXJyb3I6IGV4cGVjdGVkCg==',
      'CusCCkdzaGEyNTY6NzNjMGU5NzQ3MDk5MTdhNzM1Yjc2YzA5NGUyNmJjMDU5Y2I2YjMzYTU3NmVmMWU1YjRhM2ExZTY0ZGJmNGM0MxJHc2hhMjU2OjViNzhlZTZjNTJiMDU3NmY5OWQ5ZWU0NWM4OGNlNTFjNjhiZGUwNTIwNTJiZjZkNTVhZTIzN2MyMTYzYWMxNzMaSFsyLzJdIFJVTiBlY2hvIGNvbXBpbGluZzsgZWNobyAibWFpbi5jOjM6MTogZXJyb3I6IGV4cGVjdGVkIiA+JjI7IGV4aXQgMyoMCOHdkdgGELGJ/a4CMgwI4d2R2AYQ8d3TngM6cWV4ZWN1dG9yIGZhaWxlZCBydW5uaW5nIFsvYmluL3NoIC1jIGVjaG8gY29tcGlsaW5nOyBlY2hvICJtYWluLmM6MzoxOiBlcnJvcjogZXhwZWN0ZWQiID4mMjsgZXhpdCAzXTogZXhpdCBjb2RlOiAz',
    ];
    const p = new BuildkitProgress();
    expect(recorded.flatMap((m) => p.push(m))).toEqual([
      '#1 [2/2] RUN echo compiling; echo "main.c:3:1: error: expected" >&2; exit 3',
      '#1 compiling',
      '#1 main.c:3:1: error: expected',
      '#1 ERROR: executor failed running [/bin/sh -c echo compiling; echo "main.c:3:1: error: expected" >&2; exit 3]: exit code: 3',
    ]);
    expect(p.push('bm90IGEgcHJvdG9idWYgbWVzc2FnZSBhdCBhbGwh')).toEqual([]);
    expect(p.push('')).toEqual([]);
  });
});
