/**
 * JUnit XML from a test run. A test Job prints its report to stdout between two marker
 * lines (so no volume or upload is needed to get it out of the pod):
 *
 *     ##devenv-junit-begin##
 *     <?xml version="1.0"?><testsuites>…</testsuites>
 *     ##devenv-junit-end##
 *
 * A local command writes the file named by $DEVENV_JUNIT (or prints the same markers).
 *
 * Pure module: no I/O.
 */

export const JUNIT_BEGIN = '##devenv-junit-begin##';
export const JUNIT_END = '##devenv-junit-end##';

/** The LAST marked report in a log, without the markers; undefined when there is none. */
export function extractJunit(log: string): string | undefined {
  const lines = log.split(/\r?\n/);
  let end = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = stripTimestamp(lines[i]!).trim();
    if (end < 0 && l === JUNIT_END) end = i;
    else if (end >= 0 && l === JUNIT_BEGIN) {
      const body = lines
        .slice(i + 1, end)
        .join('\n')
        .trim();
      return body ? `${body}\n` : undefined;
    }
  }
  return undefined;
}

/** Kubernetes `timestamps=true` log lines start with an RFC 3339 time; markers may follow one. */
function stripTimestamp(line: string): string {
  return line.replace(/^\d{4}-\d\d-\d\dT\S+Z /, '');
}

export interface JunitSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

const attr = (tag: string, name: string): number => {
  const m = new RegExp(`\\s${name}="(\\d+)"`).exec(tag);
  return m ? Number.parseInt(m[1]!, 10) : 0;
};

/**
 * Counts from the report: the <testsuites> totals when present, else the sum over
 * <testsuite> elements, else counted <testcase>/<failure>/<error>/<skipped> elements.
 */
export function summarizeJunit(xml: string): JunitSummary {
  const suites = /<testsuites\b[^>]*>/.exec(xml)?.[0];
  if (suites && /\stests="\d+"/.test(suites)) {
    return {
      tests: attr(suites, 'tests'),
      failures: attr(suites, 'failures'),
      errors: attr(suites, 'errors'),
      skipped: attr(suites, 'skipped'),
    };
  }
  const each = [...xml.matchAll(/<testsuite\b[^>]*>/g)]
    .map((m) => m[0])
    .filter((t) => /\stests="\d+"/.test(t));
  if (each.length > 0) {
    return each.reduce(
      (acc, t) => ({
        tests: acc.tests + attr(t, 'tests'),
        failures: acc.failures + attr(t, 'failures'),
        errors: acc.errors + attr(t, 'errors'),
        skipped: acc.skipped + attr(t, 'skipped'),
      }),
      { tests: 0, failures: 0, errors: 0, skipped: 0 },
    );
  }
  const count = (re: RegExp) => [...xml.matchAll(re)].length;
  return {
    tests: count(/<testcase\b/g),
    failures: count(/<failure\b/g),
    errors: count(/<error\b/g),
    skipped: count(/<skipped\b/g),
  };
}
