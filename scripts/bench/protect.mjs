#!/usr/bin/env node
// npm run bench:protect: what rate limits, a circuit breaker and a retry
// budget cost when they never bind, beside the bare session, on Node, Deno
// and Bun. Same method as npm run bench (../shared/BASELINE.md): the
// keep-alive node:http upstream pinned to CPU 0, each row a fresh client
// process pinned to CPU 1, GET + JSON parse, 2,000 warm-up then 20,000
// measured, concurrency 50 and 1, interleaved rounds, medians.
//
// Writes docs/benchmark_protect.md.
//
// Usage: node scripts/bench/protect.mjs [--rounds N] [--quick]
//          [--only node,deno,bun] [--no-write]
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BARE, findRuntimes } from "./rows.mjs";
import { buildForNode, canPin, runRows, startServer } from "./harness.mjs";
import { runtimeBin } from "../runtimes.mjs";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index === -1 ? fallback : args[index + 1];
};
const quick = args.includes("--quick");
const rounds = Number(option("--rounds", quick ? 1 : 3));
const only = option("--only", "node,deno,bun").split(",");
const plan = quick
  ? { warmup: 200, requests: 2_000 }
  : { warmup: 2_000, requests: 20_000 };
const ROWS = [
  BARE,
  "session rate limit (never binds)",
  "session rate limit, breaker, budget",
];
const CONCURRENCIES = [50, 1];

const { runtimes, warnings } = findRuntimes(only);
for (const warning of warnings) console.warn(`bench: ${warning}`);
const names = Object.keys(runtimes);
buildForNode(names);
const server = await startServer();
const url = `http://127.0.0.1:${server.ports[0]}/users/42`;
const started = Date.now();
const { summary, failures } = await runRows({
  runtimes,
  rows: ROWS,
  concurrencies: CONCURRENCIES,
  rounds,
  plan,
  url,
  server,
});
server.kill();

const fmt = (value, digits = 0) =>
  value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
const lines = [];
for (const c of CONCURRENCIES) {
  lines.push(
    "",
    `### Concurrency ${c}`,
    "",
    "| runtime | row | req/s | vs bare | CPU µs/req | CPU µs/req over bare | p50 ms | p99 ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const runtime of names) {
    const bare = summary(runtime, BARE, c);
    for (const row of ROWS) {
      const s = summary(runtime, row, c);
      if (s === undefined) continue;
      const ratio = bare ? `${fmt(s.rps / bare.rps, 2)}x` : "n/a";
      const extra = bare ? fmt(s.cpu - bare.cpu, 1) : "n/a";
      lines.push(
        `| ${runtimes[runtime].label} | ${
          row === BARE ? "session, none of them" : row
        } | ${fmt(s.rps)} | ${ratio} | ${fmt(s.cpu, 1)} | ${extra} | ${
          fmt(s.p50, 2)
        } | ${fmt(s.p99, 2)} |`,
      );
    }
  }
}
const seconds = Math.round((Date.now() - started) / 1000);
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}`;
const markdown = [
  "# Cost of rate limits, circuit breaker and retry budget",
  "",
  "Written by `npm run bench:protect` (scripts/bench/protect.mjs); do not edit.",
  "",
  `${rounds} interleaved round(s), medians; ${
    canPin
      ? "server pinned to CPU 0, each client a fresh process pinned to CPU 1"
      : "no CPU pinning (less stable)"
  }; ${fmt(plan.warmup)} warm-up then ${
    fmt(plan.requests)
  } measured GETs per row against a keep-alive node:http server, each checking the status and parsing the 105-byte JSON body. "None of them" is the bare session; the others set a rate limit of 1,000,000 requests a millisecond per host and in total (it never binds), then also a circuit breaker and a retry budget that never trip. Machine: ${machine}; the run took ${seconds} s.`,
  ...lines,
  ...(failures.size === 0 ? [] : [
    "",
    "Rows that failed (in any round), with the client's error:",
    "",
    ...[...failures].map(([label, line]) =>
      `- ${label}: "${line.replaceAll("`", "'")}"`
    ),
  ]),
  "",
].join("\n");
console.log(markdown);
if (!args.includes("--no-write")) {
  writeFileSync(join(root, "docs/benchmark_protect.md"), markdown);
  spawnSync(
    runtimeBin("deno"),
    ["fmt", "--quiet", "docs/benchmark_protect.md"],
    { cwd: root, stdio: "inherit" },
  );
  console.log("bench: wrote docs/benchmark_protect.md");
}
