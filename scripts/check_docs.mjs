#!/usr/bin/env node
// Fails when an exported symbol, or a public method or accessor of an
// exported class, has no @example in its JSDoc (`deno doc --lint` checks
// that docs exist, not examples). Like std's _tools/check_docs.ts.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { runtimeBin } from "./runtimes.mjs";

const root = resolve(import.meta.dirname, "..");
const json = execFileSync(runtimeBin("deno"), [
  "doc",
  "--json",
  "mod.ts",
], {
  cwd: root,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "ignore"],
  maxBuffer: 64 * 1024 * 1024,
});
const doc = JSON.parse(json);
const problems = [];
const hasTag = (jsDoc, kind) =>
  (jsDoc?.tags ?? []).some((tag) => tag.kind === kind);

let checked = 0;
for (const [specifier, module] of Object.entries(doc.nodes)) {
  if (!specifier.endsWith("/mod.ts")) continue;
  if (!hasTag(module.module_doc, "example")) {
    problems.push("mod.ts: module doc has no @example");
  }
  for (const symbol of module.symbols) {
    for (const declaration of symbol.declarations) {
      const where = `${symbol.name} (${
        declaration.location.filename.replace(`file://${root}/`, "")
      }:${declaration.location.line})`;
      if (hasTag(declaration.jsDoc, "internal")) continue;
      checked++;
      if (!declaration.jsDoc?.doc) problems.push(`${where}: no documentation`);
      if (!hasTag(declaration.jsDoc, "example")) {
        problems.push(`${where}: no @example`);
      }
      if (declaration.kind !== "class") continue;
      for (const constructor of declaration.def.constructors ?? []) {
        if (constructor.accessibility === "private") continue;
        if (!constructor.jsDoc?.doc) {
          problems.push(`${where} constructor: no documentation`);
        }
      }
      for (const method of declaration.def.methods ?? []) {
        if (
          method.accessibility === "private" ||
          method.accessibility === "protected"
        ) continue;
        if (method.name.startsWith("_") || hasTag(method.jsDoc, "internal")) {
          continue;
        }
        checked++;
        if (!hasTag(method.jsDoc, "example")) {
          problems.push(`${symbol.name}.${method.name}: no @example`);
        }
      }
    }
  }
}
if (checked === 0) problems.push("no exported symbol found: is mod.ts empty?");
for (const problem of problems) console.error(`check_docs: ${problem}`);
console.log(
  `check_docs: ${checked} symbols and members checked, ${problems.length} problems`,
);
process.exit(problems.length === 0 ? 0 : 1);
