/**
 * A mergeable quantile sketch with relative-error guarantees, in the style of DDSketch: a value x is
 * counted in bucket ceil(log_gamma(|x|)) (gamma = (1 + a) / (1 - a), a the relative accuracy), with
 * separate stores for positive and negative values and a counter for zeros (|x| below 1e-12). Any
 * quantile is then returned within relative error `a` of a value whose rank is exact. Merging adds
 * bucket counts, so sketches built per shard on different threads combine into exactly the sketch
 * of all the data, whatever the order. Sketches travel between threads as plain JSON.
 */
import { FilterConfigError } from "./errors.ts";

export interface SketchJson {
  accuracy: number;
  count: number;
  zeros: number;
  min: number;
  max: number;
  positive: [index: number, count: number][];
  negative: [index: number, count: number][];
}

const ZERO = 1e-12;

export class QuantileSketch {
  private readonly logGamma: number;
  private readonly gamma: number;
  private positive = new Map<number, number>();
  private negative = new Map<number, number>();
  private zeros = 0;
  count = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly accuracy = 0.005) {
    if (!(accuracy > 0 && accuracy < 1)) throw new FilterConfigError(`sketch accuracy ${accuracy} is not in (0, 1)`, "use e.g. 0.005");
    this.gamma = (1 + accuracy) / (1 - accuracy);
    this.logGamma = Math.log(this.gamma);
  }

  add(x: number): void {
    if (!Number.isFinite(x)) return;
    this.count++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const abs = Math.abs(x);
    if (abs < ZERO) {
      this.zeros++;
      return;
    }
    const index = Math.ceil(Math.log(abs) / this.logGamma);
    const store = x > 0 ? this.positive : this.negative;
    store.set(index, (store.get(index) ?? 0) + 1);
  }

  merge(other: QuantileSketch): this {
    if (other.accuracy !== this.accuracy) throw new FilterConfigError(`cannot merge sketches of accuracy ${other.accuracy} and ${this.accuracy}`, "build every shard's sketch with one accuracy");
    for (const [i, c] of other.positive) this.positive.set(i, (this.positive.get(i) ?? 0) + c);
    for (const [i, c] of other.negative) this.negative.set(i, (this.negative.get(i) ?? 0) + c);
    this.zeros += other.zeros;
    this.count += other.count;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    return this;
  }

  private valueOf(index: number): number {
    return (2 * Math.pow(this.gamma, index)) / (this.gamma + 1);
  }

  /** The value at quantile q in [0, 1] (rank q * (count - 1), rounded down); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (this.count - 1));
    let seen = 0;
    let value = NaN;
    const negatives = [...this.negative.keys()].sort((a, b) => b - a);
    for (const i of negatives) {
      seen += this.negative.get(i)!;
      if (seen > rank) { value = -this.valueOf(i); break; }
    }
    if (Number.isNaN(value)) {
      seen += this.zeros;
      if (seen > rank) value = 0;
    }
    if (Number.isNaN(value)) {
      for (const i of [...this.positive.keys()].sort((a, b) => a - b)) {
        seen += this.positive.get(i)!;
        if (seen > rank) { value = this.valueOf(i); break; }
      }
    }
    return Math.min(this.max, Math.max(this.min, value));
  }

  toJSON(): SketchJson {
    return {
      accuracy: this.accuracy,
      count: this.count,
      zeros: this.zeros,
      min: this.count ? this.min : 0,
      max: this.count ? this.max : 0,
      positive: [...this.positive],
      negative: [...this.negative],
    };
  }

  static fromJSON(json: SketchJson): QuantileSketch {
    const s = new QuantileSketch(json.accuracy);
    s.positive = new Map(json.positive);
    s.negative = new Map(json.negative);
    s.zeros = json.zeros;
    s.count = json.count;
    s.min = json.count ? json.min : Infinity;
    s.max = json.count ? json.max : -Infinity;
    return s;
  }
}
