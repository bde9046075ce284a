/**
 * A date as a clock in a time zone shows it (Intl, no time-zone library): the naming of
 * nightly prereleases (their date) and the quiet window (the local time of day).
 *
 * Pure module: the instant is a parameter.
 */

/** The `fields` of `now` in `timeZone`, read one part at a time: part('year'), part('hour'); undefined when absent. */
export function zonedParts(
  now: Date,
  timeZone: string,
  locale: string,
  fields: Intl.DateTimeFormatOptions,
): (type: Intl.DateTimeFormatPartTypes) => string | undefined {
  const parts = new Intl.DateTimeFormat(locale, { timeZone, ...fields }).formatToParts(now);
  return (type) => parts.find((p) => p.type === type)?.value;
}
