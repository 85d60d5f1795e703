#!/usr/bin/env node
// npm run demo: runs the examples on Deno (installed from npm with the project).
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const deno = join(root, "node_modules/.bin/deno");
for (
  const example of [
    "examples/squares.ts",
    "examples/basic.ts",
    "examples/two_sessions.ts",
    "examples/app_lifecycle.ts",
    "examples/hono_app.ts",
    "examples/express_app.ts",
  ]
) {
  console.log(`\n=== ${example} ===`);
  const result = spawnSync(deno, ["run", "--allow-all", example], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
