/**
 * Named integer counters: user counters (`ctx.counters.increment`) and the records/bytes counters
 * the executors fold per stage. A CounterSet is cheap to create, merges with others, and snapshots
 * to a plain sorted object for info.json.
 */
import type { Counters } from "../graph/step.ts";

export class CounterSet implements Counters {
  private readonly values = new Map<string, number>();

  increment(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Adds every counter of `other` (a CounterSet or a snapshot) into this one, optionally under a prefix. */
  merge(other: Counters | Record<string, number>, prefix = ""): void {
    const entries = typeof (other as Counters).snapshot === "function" ? (other as Counters).snapshot() : (other as Record<string, number>);
    for (const [k, v] of Object.entries(entries)) this.increment(prefix + k, v);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
