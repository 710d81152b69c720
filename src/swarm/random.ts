/**
 * Seeded random numbers for the mixture swarm: one generator per (seed, stream...) tuple, so that
 * the swarm draw, every bootstrap resample and every cross-validation split are reproducible on
 * their own and independent of each other. The generator is xoshiro128** over 32-bit integers
 * (seeded through splitmix32 from the tuple); doubles take 53 bits. On top: uniform, normal,
 * gamma (Marsaglia–Tsang), Dirichlet, log-uniform, integers and permutations.
 */

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A deterministic generator; the same (seed, streams) give the same numbers on every machine. */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, ...streams: number[]) {
    let state = 0x2545f491;
    for (const part of [seed, ...streams]) {
      // Fold each integer (up to 2^53) into the state in two 32-bit halves.
      const value = Math.trunc(part);
      for (const half of [value >>> 0, Math.floor(value / 2 ** 32) >>> 0]) {
        let out: number;
        [state, out] = splitmix32(state ^ half);
        state = (state + out) | 0;
      }
    }
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      let out: number;
      [state, out] = splitmix32(state);
      words.push(out | 0);
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform double in (0, 1): never 0, for logarithms. */
  open(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return u;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  normal(): number {
    // Box–Muller; one of the pair is enough here.
    return Math.sqrt(-2 * Math.log(this.open())) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** exp(U(log lo, log hi)). */
  logUniform(lo: number, hi: number): number {
    return Math.exp(Math.log(lo) + this.uniform() * (Math.log(hi) - Math.log(lo)));
  }

  /** The logarithm of a Gamma(shape, 1) draw (in log space so that tiny shapes do not underflow to 0). */
  logGamma(shape: number): number {
    if (shape < 1) return this.logGamma(shape + 1) + Math.log(this.open()) / shape;
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.open();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
    }
  }

  /** A Dirichlet(alpha) draw. */
  dirichlet(alpha: readonly number[]): number[] {
    const logs = alpha.map((a) => this.logGamma(a));
    const top = Math.max(...logs);
    const scaled = logs.map((l) => Math.exp(l - top));
    const total = scaled.reduce((a, b) => a + b, 0);
    return scaled.map((x) => x / total);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
