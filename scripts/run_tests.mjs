#!/usr/bin/env node
// Runs tests/**/*_test.ts on Deno (sanitizers on), Node (the suite compiled by
// tsc with the npm build's settings) and Bun, prints one line per runtime
// and the closing line "N passed, N failed". Exits non-zero when a test
// fails or a runtime ran no test.
//
// Usage: node scripts/run_tests.mjs [--only deno,node,bun] [filter...]
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
let only = ["deno", "node", "bun"];
const onlyIndex = args.indexOf("--only");
if (onlyIndex !== -1) {
  only = args[onlyIndex + 1].split(",");
  args.splice(onlyIndex, 2);
}
const filters = args;

// tests/**/*_test.ts (tests/_pipeline/ mirrors src/_pipeline/).
const testFiles = readdirSync(join(root, "tests"), { recursive: true })
  .map((name) => name.split("\\").join("/"))
  .filter((name) => name.endsWith("_test.ts"))
  .filter((name) =>
    filters.length === 0 || filters.some((f) => name.includes(f))
  )
  .sort();
if (testFiles.length === 0) {
  console.error("run_tests: no test files matched");
  process.exit(1);
}

function run(command, commandArgs, options = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const onData = (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      output +=
        `\nrun_tests: ${command} timed out after ${options.timeout} ms\n`;
      child.kill("SIGKILL");
    }, options.timeout ?? 600_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 1 : 0), output });
    });
  });
}

function count(pattern, text) {
  const matches = [...text.matchAll(pattern)];
  if (matches.length === 0) return undefined;
  return Number(matches[matches.length - 1][1]);
}

const results = [];

async function runtime(name, steps) {
  if (!only.includes(name)) return;
  console.log(`\n=== ${name} ===`);
  const result = await steps();
  results.push({ name, ...result });
}

await runtime("deno", async () => {
  const { code, output } = await run(bin("deno"), [
    "test",
    "--allow-all",
    ...testFiles.map((f) => `tests/${f}`),
  ]);
  const passed = count(/\|\s*(\d+) passed/g, output) ?? 0;
  const failed = count(/\|\s*\d+ passed[^|]*\|\s*(\d+) failed/g, output) ??
    (code === 0 ? 0 : 1);
  return { code, passed, failed };
});

await runtime("node", async () => {
  const build = await run(bin("tsc"), ["-p", "tsconfig.json"]);
  if (build.code !== 0) {
    return { code: build.code, passed: 0, failed: 1, note: "tsc failed" };
  }
  const { code, output } = await run(process.execPath, [
    "--test",
    "--test-reporter=tap",
    "--test-concurrency=1",
    ...testFiles.map((f) => `.build/tests/${f.replace(/\.ts$/, ".js")}`),
  ]);
  const passed = count(/^# pass (\d+)/gm, output) ?? 0;
  const failed = (count(/^# fail (\d+)/gm, output) ?? (code === 0 ? 0 : 1)) +
    (count(/^# cancelled (\d+)/gm, output) ?? 0);
  return { code, passed, failed };
});

await runtime("bun", async () => {
  const { code, output } = await run(bin("bun"), [
    "test",
    "--timeout",
    "30000",
    ...testFiles.map((f) => `./tests/${f}`),
  ]);
  const passed = count(/^\s*(\d+) pass$/gm, output) ?? 0;
  const failed = count(/^\s*(\d+) fail$/gm, output) ?? (code === 0 ? 0 : 1);
  return { code, passed, failed };
});

console.log("\n=== summary ===");
let passed = 0;
let failed = 0;
let ok = true;
for (const result of results) {
  const empty = result.passed === 0 && result.failed === 0;
  const status = result.code !== 0 || result.failed > 0
    ? "FAILED"
    : empty
    ? "RAN NO TEST (counts as failing)"
    : "ok";
  if (status !== "ok") ok = false;
  console.log(
    `${
      result.name.padEnd(5)
    } ${status}: ${result.passed} passed, ${result.failed} failed${
      result.note ? ` (${result.note})` : ""
    }`,
  );
  passed += result.passed;
  failed += result.failed + (empty ? 1 : 0) +
    (result.code !== 0 && result.failed === 0 ? 1 : 0);
}
for (const name of ["deno", "node", "bun"]) {
  if (!only.includes(name)) {
    console.log(`${name.padEnd(5)} SKIPPED (--only): not a full run`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
