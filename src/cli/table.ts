/**
 * Plain-text tables for the terminal, shared by the CLI (`kiln status`, `kiln run --dry-run`) and
 * pipelines' report hooks: a header, a rule of dashes under it (optional), and rows. Columns are
 * padded to their widest cell; the first column is left-aligned, and so is any column that holds
 * text, while a column whose cells are all numbers (placeholders such as "-" or "" aside) is
 * right-aligned so that digits line up. Lines carry no trailing spaces and no final newline.
 */

export type TableCell = string | number;
export type ColumnAlign = "left" | "right";

export interface TableOptions {
  /** A rule of dashes under the header (default true). */
  separator?: boolean;
  /** Alignment per column; a column left out (or undefined) is aligned as described above. */
  align?: ReadonlyArray<ColumnAlign | undefined>;
}

/** Numbers as reports print them: 12, -3.5, 1,234, 1e-3, 45%, 2x, and with a unit after a space: 1.2 s, 3 MB, 120 tok/s. */
const NUMBER = /^[-+]?(?:\d[\d,_]*(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?:%|x| [a-zµ/]{1,8})?$/i;
/** Cells that stand for "no value" and do not make a column text. */
const PLACEHOLDER = /^(?:|-|–|—|n\/a)$/i;

function isNumericColumn(cells: readonly string[]): boolean {
  return cells.some((c) => NUMBER.test(c)) && cells.every((c) => NUMBER.test(c) || PLACEHOLDER.test(c));
}

export function formatTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<TableCell>>, options: TableOptions = {}): string {
  const columns = Math.max(header.length, ...rows.map((r) => r.length));
  const body = rows.map((r) => Array.from({ length: columns }, (_, i) => String(r[i] ?? "")));
  const head = Array.from({ length: columns }, (_, i) => header[i] ?? "");
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const align = head.map((_, i): ColumnAlign => options.align?.[i] ?? (i > 0 && isNumericColumn(body.map((r) => r[i])) ? "right" : "left"));
  const line = (cells: readonly string[]) => cells.map((c, i) => (align[i] === "right" ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  const rule = options.separator === false ? [] : [widths.map((w) => "-".repeat(w)).join("  ")];
  return [line(head), ...rule, ...body.map(line)].join("\n");
}
