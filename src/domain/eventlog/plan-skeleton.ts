// The structure of a SQL physical plan, without what changes from run to run: the operator tree
// (depth + operator, join type, scan format) with literals, paths, table names, expression ids and
// codegen ids removed. Reads Spark's "extended" and "formatted" explain output.

const JOIN_TYPE = /\b(Inner|LeftOuter|RightOuter|FullOuter|LeftSemi|LeftAnti|Cross|ExistenceJoin)\b/;
const OPERATOR = /^(?:\*\s*(?:\(\d+\)\s*)?)?([A-Za-z][A-Za-z0-9_]*)/;
const SCAN = /^(?:\*\s*(?:\(\d+\)\s*)?)?((?:File|Batch|Row|InMemoryTable|LocalTable)?Scan)\s+([A-Za-z][A-Za-z0-9_-]*)/;

/** The operator tree of a physical plan description, one "depth:operator" line per node. */
export function planSkeleton(description: string): string[] {
  const start = description.indexOf('== Physical Plan ==');
  const body = start >= 0 ? description.slice(start + '== Physical Plan =='.length) : description;
  const out: string[] = [];
  for (const raw of body.split('\n')) {
    if (out.length > 0 && (raw.trim() === '' || raw.startsWith('=='))) break; // end of the tree (formatted mode's details follow)
    if (raw.trim() === '') continue;
    const at = raw.search(/[A-Za-z*]/);
    if (at < 0) continue;
    const line = raw.slice(at);
    const depth = Math.round(at / 3);
    const scan = SCAN.exec(line);
    let op: string;
    if (scan) {
      const format = scan[2]!;
      // "Scan parquet db.table": the format is structure; "Scan ExistingRDD[...]"-like names are not literals either.
      op = /^[a-z]+$/.test(format) || /^[A-Z][A-Za-z]+$/.test(format) ? `${scan[1]} ${format}` : scan[1]!;
    } else {
      const m = OPERATOR.exec(line);
      if (!m) continue;
      op = m[1]!;
    }
    if (/Join/.test(op)) {
      const j = JOIN_TYPE.exec(line);
      if (j) op = `${op} ${j[1]}`;
    }
    out.push(`${depth}:${op}`);
  }
  return out;
}
