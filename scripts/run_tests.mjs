#!/usr/bin/env node
// Runs tests/**/*_test.ts on Deno (sanitizers on), on Node 20, 22 and 24
// (the suite compiled by tsc with the npm build's settings) and on Bun,
// prints one line per runtime with its full version, and the closing line
// "N passed, N failed". Exits non-zero when a test fails or a runtime ran
// no test. The runtimes are installed on first use (scripts/runtimes.mjs).
//
// Usage: node scripts/run_tests.mjs [--only deno,node,bun] [filter...]
//   (`node` is every Node version; `node20`, `node22`, `node24` one each)
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { NODE_MAJORS, runtimeBin, runtimeVersion } from "./runtimes.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const ALL = ["deno", ...NODE_MAJORS.map((major) => `node${major}`), "bun"];
let only = ALL;
const onlyIndex = args.indexOf("--only");
if (onlyIndex !== -1) {
  only = args[onlyIndex + 1].split(",").flatMap((name) =>
    name === "node" ? NODE_MAJORS.map((major) => `node${major}`) : [name]
  );
  args.splice(onlyIndex, 2);
  const unknown = only.filter((name) => !ALL.includes(name));
  if (unknown.length > 0 || only.length === 0) {
    console.error(
      `run_tests: --only takes ${["node", ...ALL].join(", ")}: not ${unknown}`,
    );
    process.exit(1);
  }
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

// `name` runs when asked for; it is reported as `label()` (with its version).
async function runtime(name, label, steps) {
  if (!only.includes(name)) return;
  const reported = label();
  console.log(`\n=== ${reported} ===`);
  const result = await steps();
  results.push({ name: reported, ...result });
}

// Fixture servers of the Deno and Bun suites run on the Node running this;
// the Deno leak test runs this Deno from every suite.
const deno = runtimeBin("deno");
const fixtureEnv = {
  SESSIONS_TEST_NODE: process.execPath,
  SESSIONS_TEST_DENO: deno,
};

await runtime("deno", () => `deno ${runtimeVersion(deno)}`, async () => {
  const { code, output } = await run(deno, [
    "test",
    "--allow-all",
    ...testFiles.map((f) => `tests/${f}`),
  ], { env: fixtureEnv });
  const passed = count(/\|\s*(\d+) passed/g, output) ?? 0;
  const failed = count(/\|\s*\d+ passed[^|]*\|\s*(\d+) failed/g, output) ??
    (code === 0 ? 0 : 1);
  return { code, passed, failed };
});

// The Node suite is compiled once and run on every Node version.
let nodeBuild;
for (const major of NODE_MAJORS) {
  const node = runtimeBin(`node${major}`);
  await runtime(
    `node${major}`,
    () => `node ${runtimeVersion(node)}`,
    async () => {
      nodeBuild ??= await run(join(root, "node_modules", ".bin", "tsc"), [
        "-p",
        "tsconfig.json",
      ]);
      if (nodeBuild.code !== 0) {
        return {
          code: nodeBuild.code,
          passed: 0,
          failed: 1,
          note: "tsc failed",
        };
      }
      return await nodeSuite(node);
    },
  );
}

async function nodeSuite(node) {
  const { code, output } = await run(node, [
    "--test",
    "--test-reporter=tap",
    "--test-concurrency=1",
    ...testFiles.map((f) => `.build/tests/${f.replace(/\.ts$/, ".js")}`),
  ], { env: fixtureEnv });
  const passed = count(/^# pass (\d+)/gm, output) ?? 0;
  const failed = (count(/^# fail (\d+)/gm, output) ?? (code === 0 ? 0 : 1)) +
    (count(/^# cancelled (\d+)/gm, output) ?? 0);
  return { code, passed, failed };
}

const bun = runtimeBin("bun");
await runtime("bun", () => `bun ${runtimeVersion(bun)}`, async () => {
  const { code, output } = await run(bun, [
    "test",
    "--timeout",
    "30000",
    ...testFiles.map((f) => `./tests/${f}`),
  ], { env: fixtureEnv });
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
      result.name.padEnd(12)
    } ${status}: ${result.passed} passed, ${result.failed} failed${
      result.note ? ` (${result.note})` : ""
    }`,
  );
  passed += result.passed;
  failed += result.failed + (empty ? 1 : 0) +
    (result.code !== 0 && result.failed === 0 ? 1 : 0);
}
for (const name of ALL) {
  if (!only.includes(name)) {
    console.log(`${name.padEnd(12)} SKIPPED (--only): not a full run`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
