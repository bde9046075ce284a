/**
 * The dependency graph of services (`services[].dependsOn`), pure. Here, below both
 * config validation (which reports a cycle at `file:line:col`) and the engine's deploy
 * order (engine/order.ts), so neither imports the other.
 */
export interface ServiceDeps {
  name: string;
  dependsOn: readonly string[];
}

/**
 * A dependency cycle, as the names along it with the first repeated at the end
 * (`['a', 'b', 'a']`; a service depending on itself: `['a', 'a']`), or undefined. Names
 * that are not services are ignored (reported on their own as unknown).
 */
export function findCycle(services: readonly ServiceDeps[]): string[] | undefined {
  const deps = new Map(services.map((s) => [s.name, s.dependsOn]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    state.set(name, 'open');
    stack.push(name);
    for (const d of deps.get(name) ?? []) {
      if (!deps.has(d)) continue;
      if (state.get(d) === 'open') return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of services) {
    if (state.has(s.name)) continue;
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}
