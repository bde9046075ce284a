/**
 * What a generated CI pipeline runs, and whether each program comes pinned: the rule of
 * issue 18. A pipeline may install npm packages only with `npm ci` (the lockfile, exactly)
 * and run them only from node_modules/.bin, where each name must be the bin of a package the
 * lockfile pins; it may not fetch-and-run anything by name (npx, npm exec/install, pnpm dlx,
 * yarn dlx, bunx, pipx, uvx, go run/install, curl | sh); GitHub actions must be pinned to a
 * full commit SHA. Used by test/unit/ci-templates.test.ts (the templates as this checkout
 * renders them) and test/unit/package.test.ts (as the packed, installed devenv writes them,
 * against the consumer's real package-lock.json).
 */
import * as YAML from 'yaml';

export interface PipelineCommands {
  /** Every shell line the pipeline runs (multi-line `run:` blocks split into lines). */
  lines: string[];
  /** GitHub `uses:` references. */
  uses: string[];
}

type Json = Record<string, unknown>;

export function pipelineCommands(kind: 'gitlab' | 'github', text: string): PipelineCommands {
  const doc = YAML.parse(text) as Json;
  const lines: string[] = [];
  const uses: string[] = [];
  const add = (script: unknown) => {
    for (const entry of Array.isArray(script) ? script : [script]) {
      if (typeof entry === 'string') lines.push(...entry.split('\n').filter((l) => l.trim() !== ''));
    }
  };
  if (kind === 'gitlab') {
    for (const [name, job] of Object.entries(doc)) {
      if (name.startsWith('.') || typeof job !== 'object' || job === null) continue;
      const j = job as Json;
      add(j.before_script);
      add(j.script);
      add(j.after_script);
    }
  } else {
    for (const job of Object.values((doc.jobs ?? {}) as Record<string, Json>)) {
      for (const step of (job.steps ?? []) as Json[]) {
        if (typeof step.run === 'string') add(step.run);
        if (typeof step.uses === 'string') uses.push(step.uses);
      }
    }
  }
  return { lines: lines.map((l) => l.trim()).filter((l) => !l.startsWith('#')), uses };
}

/** Simple commands of a shell line: split on ;, &&, ||, | (quotes respected), then into words. */
export function simpleCommands(line: string): string[][] {
  const out: string[][] = [];
  let words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) out.push(words);
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === ' ' || c === '\t') endWord();
    else if (c === ';' || c === '|' || c === '&') {
      endCommand();
      if (line[i + 1] === c) i++;
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  // Leading VAR=value assignments are not the program.
  return out.map((w) => {
    let k = 0;
    while (k < w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[k]!)) k++;
    return w.slice(k);
  });
}

/** Programs that fetch something by name from a registry or the network and run or install it. */
const FETCHERS = new Set(['npx', 'pnpx', 'bunx', 'pipx', 'uvx', 'curl', 'wget']);

/** Lockfile (package-lock.json v3): bin name → the package that provides it, with its version. */
export function lockfileBins(lockText: string): Map<string, { pkg: string; version: string }> {
  const lock = JSON.parse(lockText) as { packages?: Record<string, Json> };
  const bins = new Map<string, { pkg: string; version: string }>();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    // Only top-level packages are linked into node_modules/.bin.
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(path);
    if (!m || typeof entry.bin !== 'object' || entry.bin === null) continue;
    for (const bin of Object.keys(entry.bin)) bins.set(bin, { pkg: m[1]!, version: String(entry.version) });
  }
  return bins;
}

/**
 * Every violation of the rule in one pipeline, as readable lines (empty: it complies).
 * `bins` maps each bin name the lockfile pins to its package.
 */
export function unpinnedFetches(
  commands: PipelineCommands,
  bins: Map<string, { pkg: string; version: string }>,
): string[] {
  const problems: string[] = [];
  let installed = false;
  for (const line of commands.lines) {
    for (const argv of simpleCommands(line)) {
      const [prog, sub] = argv;
      if (!prog) continue;
      const base = prog.split('/').pop()!;
      const say = (why: string) => problems.push(`${why}: ${line}`);
      if (FETCHERS.has(base)) say(`${base} fetches by name`);
      else if (base === 'npm' && sub === 'ci') installed = true;
      else if (base === 'npm') say(`npm ${sub ?? ''} (only "npm ci" installs from the lockfile)`);
      else if (
        (base === 'pnpm' || base === 'yarn' || base === 'bun') &&
        ['dlx', 'x', 'add'].includes(sub ?? '')
      )
        say(`${base} ${sub} fetches by name`);
      else if ((base === 'pip' || base === 'pip3') && sub === 'install') say('pip install by name');
      else if (base === 'go' && (sub === 'install' || sub === 'run')) say(`go ${sub} of a module by name`);
      else if (prog.startsWith('node_modules/.bin/') || prog.startsWith('./node_modules/.bin/')) {
        if (!bins.has(base)) say(`${base} is not the bin of a package the lockfile pins`);
        else if (!installed) say(`${base} runs before "npm ci" installed it`);
      } else if (base === 'node' && argv.some((a) => a.includes('node_modules') && !a.includes('.bin/')))
        say('node runs a file from node_modules by path');
    }
  }
  for (const ref of commands.uses) {
    if (ref.startsWith('./') || ref.startsWith('docker://')) continue;
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref))
      problems.push(`action not pinned to a commit SHA: ${ref}`);
  }
  return problems;
}
