/**
 * Groups of a sorted entry stream, for a reducer: consecutive entries with one key. The entries come
 * in batches; a group's values are served straight from the batch in hand (a resolved promise per
 * value, no generator to resume) and the next batch is awaited only where one ends, so a reducer's
 * `for await` over its values costs one small promise a value. Each group counts the values it gave.
 */
import { compareKeys, type ShuffleKey } from "./key.ts";
import type { ShuffleEntry } from "./frame.ts";

/** Where a sorted stream of entry batches stands: the batch in hand and the next entry's index in it. */
class EntryCursor<T> {
  batch: ShuffleEntry<T>[] = [];
  index = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<ShuffleEntry<T>[]>) {}

  /** True when an entry is at the cursor (fetching batches as needed), false at the end of the stream. */
  async ready(): Promise<boolean> {
    while (this.index >= this.batch.length) {
      if (this.ended) return false;
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.batch = next.value;
      this.index = 0;
    }
    return true;
  }

  /** Moves past every entry of `key` at the cursor. */
  async skip(key: ShuffleKey): Promise<void> {
    while (await this.ready()) {
      const batch = this.batch;
      while (this.index < batch.length && compareKeys(batch[this.index].key, key) === 0) this.index++;
      if (this.index < batch.length) return;
    }
  }
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/** The records of one group, in stream order; `taken` counts those given out. */
export class GroupValues<T> implements AsyncIterableIterator<T> {
  taken = 0;

  constructor(
    private readonly cursor: EntryCursor<T>,
    readonly key: ShuffleKey,
  ) {}

  next(): Promise<IteratorResult<T, undefined>> {
    const c = this.cursor;
    if (c.index < c.batch.length) return Promise.resolve(this.take());
    return this.nextBatch();
  }

  private async nextBatch(): Promise<IteratorResult<T, undefined>> {
    return (await this.cursor.ready()) ? this.take() : DONE;
  }

  /** The entry at the cursor when it belongs to this group (and moves past it), else the end of the group. */
  private take(): IteratorResult<T, undefined> {
    const c = this.cursor;
    const entry = c.batch[c.index];
    if (compareKeys(entry.key, this.key) !== 0) return DONE;
    c.index++;
    this.taken++;
    return { value: entry.record, done: false };
  }

  [Symbol.asyncIterator](): GroupValues<T> {
    return this;
  }
}

/** The groups of `batches` in key order; a group's values must be read (or left) before the next group is asked for. */
export async function* groupsOf<T>(batches: AsyncGenerator<ShuffleEntry<T>[]>): AsyncGenerator<{ key: ShuffleKey; values: GroupValues<T> }> {
  const cursor = new EntryCursor(batches);
  try {
    while (await cursor.ready()) {
      const key = cursor.batch[cursor.index].key;
      yield { key, values: new GroupValues(cursor, key) };
      await cursor.skip(key);
    }
  } finally {
    await batches.return(undefined);
  }
}
