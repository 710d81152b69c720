/** Growing typed arrays that hold per-entry numbers outside the collected heap. */

type NumberArray = Int32Array | Float64Array | Uint8Array;

/** A typed array of twice `from`'s length (made by `make`) holding `from`'s values first. */
export function doubled<A extends NumberArray>(from: A, make: (length: number) => A): A {
  const to = make(2 * from.length);
  to.set(from);
  return to;
}
