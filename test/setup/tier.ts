/**
 * Shared tier logic for the global setups: an engine that is missing fails the run under
 * CI=true and skips the tier (with the reason printed) elsewhere.
 */
export function engineMissing(tier: string, reason: string, remedy: string): false {
  const msg = `[${tier} tier] engine missing: ${reason}. ${remedy}`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`${msg} (CI=true: a tier whose engine is missing fails the run)`);
  }
  process.stderr.write(
    `\n${msg}\n[${tier} tier] SKIPPED: every test of this tier is reported as skipped.\n\n`,
  );
  return false;
}
