/** Formats rows as a plain-text table with a header and a rule; numbers are right-aligned. */
export function table (headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map(row => row.map(String))
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map(row => row[i]?.length ?? 0)))
  const numeric = headers.map((_header, i) => rows.length > 0 && rows.every(row => typeof row[i] === 'number' || /^-?\d+(\.\d+)?$/.test(String(row[i]))))
  const line = (row: string[]) => row.map((cell, i) => numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])).join('  ').trimEnd()
  return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}
