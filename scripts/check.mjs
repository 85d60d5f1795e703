#!/usr/bin/env node
// npm run check: format, lint, structure, type check (Deno and tsc), doc lint, @example
// check, the legacy-decorator type tests (built and run on Node), the JSDoc
// and README examples run as tests, and a JSR publish dry run. Stops at the first failing step.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { runtimeBin } from "./runtimes.mjs";

const root = resolve(import.meta.dirname, "..");
const deno = runtimeBin("deno");
const steps = [
  ["format", deno, ["fmt", "--check"]],
  ["lint", deno, ["lint"]],
  ["README links (they must work on npm and JSR)", process.execPath, [
    "scripts/readme_links.mjs",
  ]],
  [
    "structure (import cycles, layers, file and function sizes)",
    process.execPath,
    [
      "scripts/check_structure.mjs",
    ],
  ],
  ["type check (deno)", deno, [
    "check",
    "mod.ts",
    "src/",
    "tests/",
    "examples/",
    "scripts/",
  ]],
  ["type check (tsc)", join(root, "node_modules/.bin/tsc"), [
    "-p",
    "tsconfig.json",
    "--noEmit",
  ]],
  [
    "legacy decorators (experimentalDecorators build, run on Node)",
    join(
      root,
      "node_modules/.bin/tsc",
    ),
    ["-p", "tests/types/tsconfig.legacy.json"],
  ],
  ["legacy decorators: run", process.execPath, [
    ".build-legacy/tests/types/run_legacy.js",
  ]],
  ["doc lint", deno, ["doc", "--lint", "mod.ts"]],
  ["@example on every export", process.execPath, ["scripts/check_docs.mjs"]],
  ["doc examples", deno, [
    "test",
    "--doc",
    "--allow-all",
    "mod.ts",
    "src/",
    "README.md",
  ]],
  ["publish dry run", deno, ["publish", "--dry-run", "--allow-dirty"]],
];
for (const [name, command, args] of steps) {
  console.log(`\n=== check: ${name} ===`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (result.status !== 0) {
    console.error(`\ncheck: '${name}' failed`);
    process.exit(1);
  }
}
console.log("\ncheck: all steps passed");
