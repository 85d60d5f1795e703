#!/usr/bin/env node
// npm run bench: @x/sessions against the session's own transport driven
// directly, the runtime's global fetch and the popular libraries, side by
// side in one run, on Node (the README's Node and Node 20), Deno and Bun.
//
// Method (../shared/BASELINE.md): a keep-alive node:http upstream with a
// 105-byte JSON body, pinned to CPU 0 and counting TCP connections; each row
// a fresh client process pinned to CPU 1; GETs that check the status and
// parse the JSON; two windows (cold: 2,000 warm-up then 20,000 measured;
// steady: 20,000 then 100,000), concurrency 50 and 1; rows interleaved over
// several rounds; medians; ratios within the run. The targets are in
// targets.mjs, the rows in rows.mjs.
//
// Writes docs/benchmark.md, docs/benchmark.svg and the README's Benchmarks
// section (between the bench:start and bench:end markers).
//
// Then runs h2.mjs (the HTTP/2 rows, docs/benchmark_h2.md) unless --no-h2,
// and protect.mjs (docs/benchmark_protect.md) unless --no-protect.
//
// Usage: node scripts/bench/run.mjs [--rounds N] [--quick]
//          [--only node,node20,deno,bun] [--windows cold,steady] [--no-write]
//          [--no-h2] [--no-protect]
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ANTI_PLAN,
  CONCURRENCIES,
  findRuntimes,
  ROWS,
  WINDOWS,
} from "./rows.mjs";
import { connectionChecks, evaluate } from "./targets.mjs";
import {
  buildForNode,
  canPin,
  median,
  pinned,
  runJson,
  startServer,
} from "./harness.mjs";
import { repositoryUrls } from "../readme_links.mjs";
import { ensureInstalled, runtimeBin } from "../runtimes.mjs";
import {
  chart,
  connectionTable,
  headlineTargets,
  rowTable,
  sideBySide,
  targetTable,
} from "./report.mjs";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index === -1 ? fallback : args[index + 1];
};
const quick = flag("--quick");
const rounds = Number(option("--rounds", quick ? 1 : 3));
const only = option("--only", "node,node20,deno,bun").split(",");
const windows = option("--windows", "cold,steady").split(",");
const write = !flag("--no-write");
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`--rounds must be a positive integer: ${rounds}`);
}
for (const window of windows) {
  if (!(window in WINDOWS)) {
    throw new RangeError(`--windows: no window ${window} (cold, steady)`);
  }
}
const scale = quick ? 0.1 : 1;

// The peers compared against are the benchmark's own install, not the root's.
ensureInstalled(
  import.meta.dirname,
  "the benchmark's peers (ky, ofetch, got, axios)",
);
const { runtimes, warnings } = findRuntimes(only);
for (const warning of warnings) console.warn(`bench: ${warning}`);
const names = Object.keys(runtimes);
if (names.length === 0) throw new Error(`--only matched no runtime: ${only}`);
const labels = Object.fromEntries(
  names.map((name) => [name, runtimes[name].label]),
);
const rows = names.flatMap((runtime) =>
  ROWS[runtime].map(([approach, role]) => ({ runtime, approach, role }))
);
// --- the library's tsc build, and the upstream server ---------------------
buildForNode(names);
const server = await startServer();
const { ask } = server;
const url = `http://127.0.0.1:${server.ports[0]}/users/42`;

function runClient(row, window, concurrency) {
  const plan = row.role === "anti" ? ANTI_PLAN : WINDOWS[window];
  const warmup = Math.max(1, Math.round(plan.warmup * scale));
  const requests = Math.max(10, Math.round(plan.requests * scale));
  const runtime = runtimes[row.runtime];
  const [command, commandArgs] = pinned(1, runtime.command, [
    ...runtime.args,
    join(import.meta.dirname, "client.mjs"),
    row.approach,
    url,
    String(concurrency),
    String(warmup),
    String(requests),
  ]);
  return runJson(command, commandArgs, {
    label: `${row.runtime} ${row.approach} ${window} C=${concurrency}`,
    timeoutMs: 300_000,
  });
}

// --- run -----------------------------------------------------------------
const results = new Map(); // key -> [{...client, conns}]
const key = (runtime, approach, window, c) =>
  `${runtime}|${approach}|${window}|${c}`;
const started = Date.now();
let failures = 0;
for (let round = 0; round < rounds; round++) {
  for (const window of windows) {
    for (const concurrency of CONCURRENCIES) {
      // The anti-pattern runs in the cold window only (it has no steady state).
      const active = rows.filter((row) =>
        row.role !== "anti" || window === "cold"
      );
      // Rotate the order each round so no row always runs first or last.
      const order = active.map((_, i) => active[(i + round) % active.length]);
      for (const row of order) {
        await ask("reset");
        const result = await runClient(row, window, concurrency);
        const stats = await ask("stats");
        if (result === undefined) {
          failures++;
          continue;
        }
        result.conns = stats.accepted;
        const k = key(row.runtime, row.approach, window, concurrency);
        if (!results.has(k)) results.set(k, []);
        results.get(k).push(result);
        console.log(
          `round ${round + 1}/${rounds} ${window.padEnd(6)} C=${
            String(concurrency).padEnd(2)
          } ${row.runtime.padEnd(6)} ${row.approach.padEnd(24)} ${
            Math.round(result.rps).toString().padStart(6)
          } req/s  cpu ${
            result.cpuUsPerRequest.toFixed(1)
          } us/req  conns ${result.conns}`,
        );
      }
    }
  }
}
server.kill();

// --- summarise -----------------------------------------------------------
const summary = new Map();
for (const row of rows) {
  for (const window of windows) {
    for (const c of CONCURRENCIES) {
      const list = results.get(key(row.runtime, row.approach, window, c));
      if (!list) continue;
      summary.set(key(row.runtime, row.approach, window, c), {
        ...row,
        window,
        concurrency: c,
        rounds: list.length,
        requests: list[0].requests,
        rps: median(list.map((r) => r.rps)),
        p50: median(list.map((r) => r.p50)),
        p99: median(list.map((r) => r.p99)),
        cpu: median(list.map((r) => r.cpuUsPerRequest)),
        rss: median(list.map((r) => r.peakRssMiB)),
        conns: median(list.map((r) => r.conns)),
      });
    }
  }
}
const get = (runtime, approach, window, c) =>
  summary.get(key(runtime, approach, window, c));
const targets = evaluate(names, get, labels, windows);
const checks = connectionChecks([...summary.values()]);

const machine = `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}`;
const undici = JSON.parse(
  readFileSync(join(root, "node_modules/undici/package.json"), "utf8"),
).version;
const seconds = Math.round((Date.now() - started) / 1000);
const fmtInt = (value) => Math.round(value).toLocaleString("en-US");
const method =
  `${rounds} interleaved round(s), medians; ${
    canPin
      ? "server pinned to CPU 0, each client a fresh process pinned to CPU 1"
      : "NOT pinned"
  }; windows: ${
    windows.map((w) =>
      `${w} (${fmtInt(WINDOWS[w].warmup * scale)} warm-up, then ${
        fmtInt(WINDOWS[w].requests * scale)
      } measured)`
    ).join(", ")
  }; a new session per request: ${fmtInt(ANTI_PLAN.requests * scale)} ` +
  `measured, cold window only. Every request checks the status and parses ` +
  `the 105-byte JSON body. "Own transport" is the session's transport driven ` +
  `directly (Node: one undici Client per concurrent request, as NodeAdapter ` +
  `keeps them; Deno: fetch + Deno.createHttpClient; Bun: fetch + ` +
  `Bun.FetchSession). Machine: ${machine}; ${
    names.map((n) => labels[n]).join(", ")
  }; undici ${undici}; the run took ${seconds} s.`;
const windowTitle = { cold: "Cold window", steady: "Steady window" };
const sections = windows.flatMap((window) =>
  CONCURRENCIES.flatMap((c) => [
    `## ${windowTitle[window]}, concurrency ${c}`,
    "",
    rowTable(names, labels, get, window, c),
    "",
  ])
);
const markdown = [
  ...sections,
  "## Targets",
  "",
  targetTable(targets),
  "",
  connectionTable(checks, labels),
  "",
  ...warnings.map((w) => `Note: ${w}.\n`),
  `Method: ${method}`,
].join("\n");
console.log(`\n${markdown}\n`);
if (failures > 0) console.error(`bench: ${failures} run(s) failed`);

if (write) {
  mkdirSync(join(root, "docs"), { recursive: true });
  writeFileSync(
    join(root, "docs/benchmark.md"),
    `# Benchmark\n\nWritten by \`npm run bench\`; do not edit by hand.\n\n${markdown}\n`,
  );
  const complete = windows.length === 2 && !quick &&
    ["node", "deno", "bun"].every((name) => names.includes(name));
  if (complete) {
    writeFileSync(
      join(root, "docs/benchmark.svg"),
      chart(
        names,
        labels,
        get,
        `Medians of ${rounds} round(s); ${machine}. npm run bench`,
      ),
    );
    const readmePath = join(root, "README.md");
    const readme = readFileSync(readmePath, "utf8");
    const start = "<!-- bench:start -->";
    const end = "<!-- bench:end -->";
    const i = readme.indexOf(start);
    const j = readme.indexOf(end);
    if (i === -1 || j < i) throw new Error("README has no bench markers");
    // Absolute links: the README is also the npm and JSR page.
    const { page, raw } = repositoryUrls();
    const section = [
      start,
      "",
      `![Requests per second at concurrency 50, steady and cold](${raw}docs/benchmark.svg)`,
      "",
      sideBySide(names, labels, get),
      "",
      targetTable(headlineTargets(targets)),
      "",
      ...warnings.map((w) => `Note: ${w}.\n`),
      `${method} Concurrency 1, latency, CPU, memory, connections and every target: [docs/benchmark.md](${page}docs/benchmark.md).`,
      "",
      end,
    ].join("\n");
    writeFileSync(
      readmePath,
      readme.slice(0, i) + section + readme.slice(j + end.length),
    );
    console.log("bench: wrote docs/benchmark.md, the chart and the README");
  } else {
    console.log(
      "bench: wrote docs/benchmark.md (the chart and the README only on a full run of both windows on every runtime)",
    );
  }
  // What was written follows the repository's format (checked by CI).
  spawnSync(runtimeBin("deno"), [
    "fmt",
    "--quiet",
    "docs/benchmark.md",
    "docs/benchmark.svg",
    "README.md",
  ], { cwd: root, stdio: "inherit" });
}
// The HTTP/2 rows (h2.mjs: h2 and HTTP/1.1 over TLS) and the cost of the
// protections (protect.mjs), on the same runtimes.
for (
  const [script, skip] of [["h2.mjs", "--no-h2"], [
    "protect.mjs",
    "--no-protect",
  ]]
) {
  if (flag(skip)) continue;
  const more = spawnSync(process.execPath, [
    join(import.meta.dirname, script),
    "--rounds",
    String(rounds),
    "--only",
    only.filter((name) => name !== "node20").join(","),
    ...(quick ? ["--quick"] : []),
    ...(write ? [] : ["--no-write"]),
  ], { cwd: root, stdio: "inherit" });
  if (more.status !== 0) failures++;
}
process.exit(failures > 0 ? 1 : 0);
