/** Plain-text tables for the benchmark's output. */

/** A table cell: numbers are right-aligned, `undefined` prints as a dash. */
export type Cell = string | number | undefined;

/** Formats a number with `digits` decimals, or a dash when it is not finite. */
export function fixed(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** Renders rows under headers, columns padded to their widest cell. */
export function renderTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((cell) => (cell === undefined ? '–' : String(cell))));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...text.map((row) => row[i]?.length ?? 0)),
  );
  const numeric = headers.map((_, i) =>
    rows.every((row) => typeof row[i] !== 'string' || /^[\d.–x×]+$/.test(String(row[i]))),
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(headers), rule, ...text.map(line)].join('\n');
}

/** Prints a titled table to stdout. */
export function printTable(title: string, headers: string[], rows: Cell[][]): void {
  process.stdout.write(`\n== ${title}\n${renderTable(headers, rows)}\n`);
}
