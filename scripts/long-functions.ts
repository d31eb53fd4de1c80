/**
 * Lists the functions in src of 100 lines or more (STYLE: functions short; issue 16 brought them
 * to none). `bun scripts/long-functions.ts [DIR] [MIN]`; exits 1 when any is listed.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const dir = process.argv[2] ?? "src";
const min = Number(process.argv[3] ?? 100);

function files(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = path.join(d, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function nameOf(n: ts.Node): string {
  const own = (n as { name?: ts.Node }).name;
  if (own) return own.getText();
  const p = n.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p)) return p.name.getText();
  return "<anonymous>";
}

const long: string[] = [];
for (const file of files(dir)) {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
      const from = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const lines = sf.getLineAndCharacterOfPosition(n.end).line - from + 1;
      if (lines >= min) long.push(`${lines}\t${file}:${from + 1}\t${nameOf(n)}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
for (const l of long.sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))) console.log(l);
process.exit(long.length > 0 ? 1 : 0);
