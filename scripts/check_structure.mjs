#!/usr/bin/env node
// npm run check: the shape of src/ (docs/architecture.md). Fails on
// - an import cycle, type-only imports included;
// - an adapter (src/adapters/) importing the pipeline or a facade;
// - anything but a facade (session, container, attach_session, registry)
//   or the pipeline itself importing src/_pipeline/;
// - a source file over 600 lines, session.ts of 400 or more, a function
//   over 60;
// - an exported value nothing else imports (mod.ts, sources or tests);
// - a src/ path in docs/architecture.md that does not exist.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dirname, "..");
const FACADES = new Set([
  "src/session.ts",
  "src/container.ts",
  "src/attach_session.ts",
  "src/registry.ts",
]);
const MAX_FILE = 600;
const MAX_SESSION = 399; // "under 400", with its JSDoc
const MAX_FUNCTION = 60;

function sources(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((
    entry,
  ) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
      ? [join(dir, entry.name)]
      : []
  );
}

const files = ["mod.ts", ...sources("src")];
const problems = [];
const graph = new Map();
// file -> names it exports; file -> names other files take from it.
const exported = new Map();
const used = new Map();

function noteImports(file, statement) {
  const specifier = statement.moduleSpecifier;
  if (!specifier || !ts.isStringLiteral(specifier)) return undefined;
  if (!specifier.text.startsWith(".")) return undefined;
  const target = relative(root, resolve(root, dirname(file), specifier.text));
  const names = used.get(target) ?? new Set();
  used.set(target, names);
  const clause = ts.isImportDeclaration(statement)
    ? statement.importClause?.namedBindings
    : statement.exportClause;
  if (clause === undefined || !("elements" in clause)) {
    names.add("*");
  } else {
    for (const element of clause.elements) {
      names.add((element.propertyName ?? element.name).text);
    }
  }
  return target;
}

function noteExports(file, statement) {
  const names = exported.get(file) ?? new Set();
  exported.set(file, names);
  const modifiers = ts.canHaveModifiers(statement)
    ? ts.getModifiers(statement) ?? []
    : [];
  if (!modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return;
  // Values only: a type may be exported for the signatures that use it.
  if (ts.isVariableStatement(statement)) {
    for (const declaration of statement.declarationList.declarations) {
      names.add(declaration.name.getText());
    }
  } else if (
    (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) &&
    statement.name
  ) {
    names.add(statement.name.text);
  }
}

for (const file of files) {
  const text = readFileSync(join(root, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const imports = [];
  for (const statement of source.statements) {
    if (
      ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)
    ) {
      const target = noteImports(file, statement);
      if (target !== undefined) imports.push(target);
    } else {
      noteExports(file, statement);
    }
  }
  graph.set(file, imports);
  checkLengths(file, source, text);
}

function checkLengths(file, source, text) {
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  const max = file === "src/session.ts" ? MAX_SESSION : MAX_FILE;
  if (lines > max) problems.push(`${file}: ${lines} lines (at most ${max})`);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > MAX_FUNCTION) {
        const name = node.name?.getText(source) ?? "(anonymous)";
        problems.push(
          `${file}:${start + 1}: function ${name} is ${
            end - start + 1
          } lines (at most ${MAX_FUNCTION})`,
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

for (const [file, imports] of graph) {
  for (const target of imports) {
    if (!graph.has(target)) {
      problems.push(`${file}: imports ${target}, which is not a source file`);
    }
    if (
      file.startsWith("src/adapters/") &&
      (target.startsWith("src/_pipeline/") || FACADES.has(target))
    ) {
      problems.push(`${file}: an adapter imports ${target}`);
    }
    if (
      target.startsWith("src/_pipeline/") &&
      !file.startsWith("src/_pipeline/") && !FACADES.has(file)
    ) {
      problems.push(`${file}: imports ${target}; only the facades may`);
    }
  }
}

// The tests are users too.
for (const file of sources("tests")) {
  const text = readFileSync(join(root, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  for (const statement of source.statements) {
    if (
      ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)
    ) {
      noteImports(file, statement);
    }
  }
}
for (const [file, names] of exported) {
  if (file === "mod.ts") continue;
  const takers = used.get(file) ?? new Set();
  if (takers.has("*")) continue;
  for (const name of names) {
    if (!takers.has(name)) {
      problems.push(`${file}: exports ${name}, which nothing else imports`);
    }
  }
}

// Cycles: Tarjan's strongly connected components.
let index = 0;
const stack = [];
const info = new Map();
function connect(file) {
  const node = { index, low: index, onStack: true };
  index++;
  info.set(file, node);
  stack.push(file);
  for (const target of graph.get(file) ?? []) {
    if (!graph.has(target)) continue;
    if (!info.has(target)) {
      connect(target);
      node.low = Math.min(node.low, info.get(target).low);
    } else if (info.get(target).onStack) {
      node.low = Math.min(node.low, info.get(target).index);
    }
  }
  if (node.low === node.index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      info.get(member).onStack = false;
      component.push(member);
    } while (member !== file);
    const selfImport = (graph.get(file) ?? []).includes(file);
    if (component.length > 1 || selfImport) {
      problems.push(`import cycle: ${component.reverse().join(" -> ")}`);
    }
  }
}
for (const file of graph.keys()) if (!info.has(file)) connect(file);

// The map must name files that exist.
const map = readFileSync(join(root, "docs/architecture.md"), "utf8");
for (const [file] of map.matchAll(/src\/[\w/.-]*\w/g)) {
  try {
    readdirSync(join(root, dirname(file)));
    if (file.endsWith(".ts") && !files.includes(file)) {
      problems.push(`docs/architecture.md names ${file}, which does not exist`);
    }
  } catch {
    problems.push(`docs/architecture.md names ${file}, which does not exist`);
  }
}

for (const problem of problems) console.error(`check_structure: ${problem}`);
console.log(
  `check_structure: ${files.length} files, ${problems.length} problem(s)`,
);
process.exit(problems.length === 0 ? 0 : 1);
