/** Which events a webhook wants: action names (`route.expired`) or prefixes ending in `*` (`tunnel.*`, `*`). */

/** A predicate over action names for a webhook's `events` list. */
export function eventMatcher(patterns: readonly string[]): (action: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (action) => exact.has(action) || prefixes.some((p) => action.startsWith(p));
}
