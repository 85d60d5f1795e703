#!/usr/bin/env node
// npm run demo: the seed's squares service (examples/squares.ts), compiled
// by tsc and run on the Node that runs this script, the one you have.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
console.log(`demo: examples/squares.ts on Node ${process.version}`);
const steps = [
  [join(root, "node_modules/.bin/tsc"), ["-p", "scripts/tsconfig.demo.json"]],
  [process.execPath, [".build-demo/examples/squares.js"]],
];
for (const [command, args] of steps) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
