/** A CI run (CI=true or CI=1): there a missing engine or tool fails the run, never skips. */
export function inCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * Shared tier logic for the global setups: an engine that is missing fails the run under
 * CI=true and skips the tier (with the reason printed) elsewhere.
 */
export function engineMissing(tier: string, reason: string, remedy: string): false {
  const msg = `[${tier} tier] engine missing: ${reason}. ${remedy}`;
  if (inCi()) {
    throw new Error(`${msg} (CI=true: a tier whose engine is missing fails the run)`);
  }
  process.stderr.write(
    `\n${msg}\n[${tier} tier] SKIPPED: every test of this tier is reported as skipped.\n\n`,
  );
  return false;
}

/**
 * The same rule for one test file's own prerequisite (a tool or binary beside the tier's
 * engine): under CI=true the file fails; elsewhere the reason is printed and the file's
 * tests that need it skip (the caller's skipIf).
 */
export function toolMissing(test: string, what: string): void {
  const msg = `[${test}] ${what}`;
  if (inCi()) throw new Error(`${msg} (CI=true: a test whose tool is missing fails the run)`);
  process.stderr.write(`${msg}; the tests that need it are SKIPPED\n`);
}
