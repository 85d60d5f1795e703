#!/usr/bin/env node
// npm run bench:h2: the session over HTTP/2 and over HTTP/1.1 with TLS,
// beside the runtime's own transport driven directly over each, on Node,
// Deno and Bun.
//
// Method as npm run bench (../shared/BASELINE.md): a node:http2 server over
// TLS (HTTP/1.1 allowed, a CA made at start) answering the same 105-byte
// JSON body, pinned to CPU 0 and counting TCP connections; each row a fresh
// client process pinned to CPU 1; GETs that check the status and parse the
// JSON; 2,000 warm-up then 20,000 measured; concurrency 50 and 1; rows
// interleaved over rounds; medians; ratios within the run.
//
// Writes docs/benchmark_h2.md.
//
// Usage: node scripts/bench/h2.mjs [--rounds N] [--quick]
//          [--only node,deno,bun] [--no-write]
import { findRuntimes } from "./rows.mjs";
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
// [row, protocol, raw row of the same protocol]
const ROWS = [
  ["raw h2", "h2", "raw h2"],
  ["session h2", "h2", "raw h2"],
  ["raw HTTP/1.1 TLS", "HTTP/1.1", "raw HTTP/1.1 TLS"],
  ["session HTTP/1.1 TLS", "HTTP/1.1", "raw HTTP/1.1 TLS"],
];
const CONCURRENCIES = [50, 1];
const RAW_LABEL = {
  node: { h2: "undici Client, allowH2", "HTTP/1.1": "undici Clients" },
  deno: {
    h2: "fetch + HttpClient (h2 only)",
    "HTTP/1.1": "fetch + HttpClient (http2: false)",
  },
  bun: {
    h2: 'FetchSession, protocol: "h2"',
    "HTTP/1.1": "FetchSession",
  },
};

const { runtimes, warnings } = findRuntimes(only);
for (const warning of warnings) console.warn(`bench: ${warning}`);
const names = Object.keys(runtimes);
buildForNode(names);
const server = await startServer("tls");
const url = `https://127.0.0.1:${server.ports[0]}/users/42`;

const started = Date.now();
const { summary, failures } = await runRows({
  runtimes,
  rows: ROWS.map(([row]) => row),
  concurrencies: CONCURRENCIES,
  rounds,
  plan,
  url,
  server,
  env: { BENCH_CA_FILE: server.caFile },
});
server.kill();

const lines = [];
for (const c of CONCURRENCIES) {
  lines.push(
    "",
    `### Concurrency ${c}`,
    "",
    "| runtime | row | protocol | req/s | vs own transport | CPU µs/req | p50 ms | p99 ms | connections |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const runtime of names) {
    for (const [row, protocol, raw] of ROWS) {
      const s = summary(runtime, row, c);
      const base = summary(runtime, raw, c);
      if (s === undefined) continue;
      const name = row.startsWith("raw")
        ? RAW_LABEL[runtime === "node20" ? "node" : runtime][protocol]
        : `**${row.replace(" TLS", "")}**`;
      lines.push(
        `| ${runtimes[runtime].label} | ${name} | ${protocol} | ${
          fmt(s.rps)
        } | ${base ? `${fmt(s.rps / base.rps, 2)}x` : "n/a"} | ${
          fmt(s.cpu, 1)
        } | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.conns)} |`,
      );
    }
  }
}
const markdown = [
  "# HTTP/2 benchmark",
  "",
  "Written by `npm run bench:h2` (scripts/bench/h2.mjs); do not edit.",
  "",
  `${
    method({ rounds, plan })
  } The server is node:http2 over TLS with HTTP/1.1 allowed (100 streams at once); "connections" are the TCP connections it accepted during the row. "Own transport" is the runtime's client driven directly over the same protocol. ${
    machine(started)
  }`,
  ...lines,
  ...failureLines(failures),
  "",
].join("\n");
writeDoc("benchmark_h2.md", markdown, write);
