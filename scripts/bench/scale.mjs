#!/usr/bin/env node
// npm run bench:scale: the session's cost as work grows, on Node (the
// README's and Node 20), Deno and Bun, with the method of run.mjs (server on
// CPU 0, each measurement a fresh process on CPU 1, interleaved rounds,
// medians):
//   - CPU per request with 1 and with 1,000 origins in one session;
//   - CPU per request with 1 and with 1,000 sessions in one process;
//   - heap per request with 100,000 requests queued behind `limit: 1`;
//   - RSS after the first 100,000 and over 1,000,000 requests.
// Writes docs/benchmark_scale.md.
//
// Usage: node scripts/bench/scale.mjs [--rounds N] [--only node,node20,deno,bun]
//          [--no-write]
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { findRuntimes } from "./rows.mjs";
import { runtimeBin } from "../runtimes.mjs";
import {
  buildForNode,
  canPin,
  median,
  pinned,
  runJson,
  startServer,
} from "./harness.mjs";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index === -1 ? fallback : args[index + 1];
};
const rounds = Number(option("--rounds", 3));
const only = option("--only", "node,node20,deno,bun").split(",");
const write = !args.includes("--no-write");
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`--rounds must be a positive integer: ${rounds}`);
}

const { runtimes, warnings } = findRuntimes(only);
for (const warning of warnings) console.warn(`bench: ${warning}`);
const names = Object.keys(runtimes);
buildForNode(names);
// The upstream on 1,000 ports: 1,000 origins.
const server = await startServer(1000);
const { ask } = server;
const ports = server.ports.join(",");

// [scenario, n]: each a fresh process.
const MEASURES = [
  ["origins", 1],
  ["origins", 1_000],
  ["origins raw", 1],
  ["origins raw", 1_000],
  ["sessions", 1],
  ["sessions", 1_000],
  ["sessions raw", 1],
  ["sessions raw", 1_000],
  ["queue", 100_000],
  ["rss", 1_000_000],
];

function gcFlags(runtime) {
  if (runtime === "deno") return ["--v8-flags=--expose-gc"];
  return runtime === "bun" ? [] : ["--expose-gc"];
}

function measure(runtime, scenario, n) {
  const { command, args: runtimeArgs } = runtimes[runtime];
  const [cmd, cmdArgs] = pinned(1, command, [
    ...runtimeArgs,
    ...gcFlags(runtime),
    join(import.meta.dirname, "scale_client.mjs"),
    scenario,
    String(n),
    ports,
  ]);
  return runJson(cmd, cmdArgs, {
    label: `${runtime} ${scenario} ${n}`,
    timeoutMs: 600_000,
  });
}

const results = new Map();
let failures = 0;
const started = Date.now();
for (let round = 0; round < rounds; round++) {
  for (const runtime of names) {
    const order = MEASURES.map((_, i) =>
      MEASURES[(i + round) % MEASURES.length]
    );
    for (const [scenario, n] of order) {
      await ask("reset");
      const result = await measure(runtime, scenario, n);
      const stats = await ask("stats");
      if (result === undefined) {
        failures++;
        continue;
      }
      result.conns = stats.accepted;
      const key = `${runtime}|${scenario}|${n}`;
      if (!results.has(key)) results.set(key, []);
      results.get(key).push(result);
      console.log(
        `round ${round + 1}/${rounds} ${runtime.padEnd(6)} ${scenario} ${n}: ${
          JSON.stringify(result)
        }`,
      );
    }
  }
}
server.kill();

const med = (runtime, scenario, n, field) => {
  const list = results.get(`${runtime}|${scenario}|${n}`);
  return list ? median(list.map((r) => r[field])) : undefined;
};

const fmt = (value, digits = 2) =>
  value === undefined ? "failed" : value.toFixed(digits);
const ratio = (a, b) => a === undefined || b === undefined ? undefined : a / b;
const cpuLines = [
  "| runtime | spread over | session: 1 | 1,000 | ratio | conns at 1,000 | own transport: 1 | 1,000 | ratio | conns at 1,000 |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const memoryLines = [
  "| runtime | heap bytes per request queued behind limit: 1 (100,000 queued) | RSS MiB after 100k requests | peak over 1M | at 1M |",
  "| --- | ---: | ---: | ---: | ---: |",
];
const targets = [];
const target = (name, value, bound) =>
  targets.push({
    name,
    value,
    bound,
    ok: value !== undefined && value <= bound,
  });
for (const runtime of names) {
  const label = runtimes[runtime].label;
  for (const spread of ["origins", "sessions"]) {
    const cells = [spread, `${spread} raw`].map((scenario) => {
      const one = med(runtime, scenario, 1, "cpuUs");
      const many = med(runtime, scenario, 1_000, "cpuUs");
      return [
        one,
        many,
        ratio(many, one),
        med(runtime, scenario, 1_000, "conns"),
      ];
    });
    lines(cpuLines, label, spread, cells);
    target(
      `${label}: CPU per request, 1,000 ${spread} / 1`,
      cells[0][2],
      1.1,
    );
  }
  const queued = med(runtime, "queue", 100_000, "bytesPerRequest");
  const early = med(runtime, "rss", 1_000_000, "earlyMiB");
  const peak = med(runtime, "rss", 1_000_000, "peakMiB");
  const end = med(runtime, "rss", 1_000_000, "endMiB");
  memoryLines.push(
    `| ${label} | ${fmt(queued, 0)} | ${fmt(early, 0)} | ${fmt(peak, 0)} | ${
      fmt(end, 0)
    } |`,
  );
  target(`${label}: heap bytes per queued request`, queued, 1024);
  target(
    `${label}: peak RSS over 1M requests / RSS after 100k`,
    ratio(peak, early),
    1.1,
  );
}

function lines(table, label, spread, cells) {
  const [session, raw] = cells.map(([one, many, r, conns]) =>
    `${fmt(one)} | ${fmt(many)} | ${fmt(r)}x | ${fmt(conns, 0)}`
  );
  table.push(`| ${label} | ${spread} | ${session} | ${raw} |`);
}
const targetLines = [
  "| target | measured | target | |",
  "| --- | ---: | ---: | --- |",
  ...targets.map((t) =>
    `| ${t.name} | ${
      t.value === undefined
        ? "failed"
        : t.bound > 100
        ? t.value.toFixed(0)
        : `${t.value.toFixed(3)}x`
    } | <= ${t.bound > 100 ? t.bound : `${t.bound}x`} | ${
      t.ok ? "met" : "**missed**"
    } |`
  ),
];
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}`;
const method = `${rounds} interleaved round(s), medians; ${
  canPin
    ? "server pinned to CPU 0, each measurement a fresh process pinned to CPU 1"
    : "NOT pinned"
}; CPU per request: 20,000 warm-up then 100,000 measured GETs at concurrency 50, spread round-robin over the origins (one server process listening on 1,000 ports of 127.0.0.1) or over the sessions; heap: after a forced GC, before and after queueing 100,000 requests behind \`limit: 1\` while the one slot waits on a slow answer; RSS: VmRSS after the first 100,000 of 1,000,000 requests and its peak, sampled every 100,000. Machine: ${machine}; ${
  names.map((n) => runtimes[n].label).join(", ")
}; the run took ${Math.round((Date.now() - started) / 1000)} s.`;
const markdown = [
  "CPU per request (us), 1 and 1,000 origins or sessions, and the TCP connections the server saw at 1,000:",
  "",
  cpuLines.join("\n"),
  "",
  memoryLines.join("\n"),
  "",
  targetLines.join("\n"),
  "",
  ...warnings.map((w) => `Note: ${w}.\n`),
  `Method: ${method}`,
].join("\n");
console.log(`\n${markdown}\n`);
if (write) {
  writeFileSync(
    join(root, "docs/benchmark_scale.md"),
    `# Benchmark: cost as work grows\n\nWritten by \`npm run bench:scale\`; do not edit by hand.\n\n${markdown}\n`,
  );
  spawnSync(runtimeBin("deno"), [
    "fmt",
    "--quiet",
    "docs/benchmark_scale.md",
  ], { cwd: root, stdio: "inherit" });
}
if (failures > 0) console.error(`bench: ${failures} measurement(s) failed`);
process.exit(failures > 0 ? 1 : 0);
