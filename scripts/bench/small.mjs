// What the smaller benchmarks (h2.mjs, protect.mjs) share: their command
// line, the method they state, the failed rows, and writing their doc.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { canPin } from "./harness.mjs";
import { runtimeBin } from "../runtimes.mjs";

const root = resolve(import.meta.dirname, "../..");

/**
 * `[--rounds N] [--quick] [--only node,deno,bun] [--no-write]`: rounds,
 * runtimes, the plan (2,000 warm-up then 20,000 measured; a tenth with
 * --quick) and whether to write the doc.
 */
export function smallOptions(args) {
  const option = (name, fallback) => {
    const index = args.indexOf(name);
    return index === -1 ? fallback : args[index + 1];
  };
  const quick = args.includes("--quick");
  return {
    rounds: Number(option("--rounds", quick ? 1 : 3)),
    only: option("--only", "node,deno,bun").split(","),
    plan: quick
      ? { warmup: 200, requests: 2_000 }
      : { warmup: 2_000, requests: 20_000 },
    write: !args.includes("--no-write"),
  };
}

/** `value` with thousands separators and `digits` decimals. */
export function fmt(value, digits = 0) {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** The method, as the doc states it before its own details. */
export function method({ rounds, plan }) {
  return `${rounds} interleaved round(s), medians; ${
    canPin
      ? "server pinned to CPU 0, each client a fresh process pinned to CPU 1"
      : "no CPU pinning (less stable)"
  }; ${fmt(plan.warmup)} warm-up then ${
    fmt(plan.requests)
  } measured GETs per row, each checking the status and parsing the 105-byte JSON body.`;
}

/** The machine and how long the run took, for the doc. */
export function machine(started) {
  const seconds = Math.round((Date.now() - started) / 1000);
  return `Machine: ${cpus().length} x ${
    cpus()[0]?.model ?? "unknown CPU"
  }; the run took ${seconds} s.`;
}

/** The doc's list of rows that failed, with the client's error. */
export function failureLines(failures) {
  if (failures.size === 0) return [];
  return [
    "",
    "Rows that failed (in any round), with the client's error:",
    "",
    ...[...failures].map(([label, line]) =>
      `- ${label}: "${line.replaceAll("`", "'")}"`
    ),
  ];
}

/** Print `markdown`, and write it to docs/<name> (formatted) when asked. */
export function writeDoc(name, markdown, write) {
  console.log(markdown);
  if (!write) return;
  writeFileSync(join(root, "docs", name), markdown);
  // In the repository's format (checked by CI).
  spawnSync(runtimeBin("deno"), ["fmt", "--quiet", `docs/${name}`], {
    cwd: root,
    stdio: "inherit",
  });
  console.log(`bench: wrote docs/${name}`);
}
