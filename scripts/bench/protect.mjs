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
import { BARE, findRuntimes } from "./rows.mjs";
import { buildForNode, runRows, startServer } from "./harness.mjs";
import {
  failureLines,
  fmt,
  machine,
  method,
  smallOptions,
  writeDoc,
} from "./small.mjs";

const { rounds, only, plan, write } = smallOptions(process.argv.slice(2));
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
const markdown = [
  "# Cost of rate limits, circuit breaker and retry budget",
  "",
  "Written by `npm run bench:protect` (scripts/bench/protect.mjs); do not edit.",
  "",
  `${
    method({ rounds, plan })
  } The server is a keep-alive node:http server. "None of them" is the bare session; the others set a rate limit of 1,000,000 requests a millisecond per host and in total (it never binds), then also a circuit breaker and a retry budget that never trip. ${
    machine(started)
  }`,
  ...lines,
  ...failureLines(failures),
  "",
].join("\n");
writeDoc("benchmark_protect.md", markdown, write);
