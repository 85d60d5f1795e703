// What `npm run bench` runs: the runtimes, the rows of each, and the two
// windows. Roles: "raw" is the session's own transport driven directly,
// "global" the runtime's global fetch, "peer" another library, "ours" a
// session row, "anti" the anti-pattern (a new session per request).
import { runtimeBin, runtimeVersion } from "../runtimes.mjs";

/** The windows: cold (a script's life) and steady (a server's). */
export const WINDOWS = {
  cold: { warmup: 2_000, requests: 20_000 },
  steady: { warmup: 20_000, requests: 100_000 },
};

/** A new connection per request: fewer, so TIME_WAIT never runs out of ports. */
export const ANTI_PLAN = { warmup: 200, requests: 2_000 };

export const CONCURRENCIES = [50, 1];

/** The limit the sessions run with (the default), for the connection check. */
export const SESSION_LIMIT = 100;

const SESSION_ROWS = [
  ["session.get().json()", "ours"],
  ["session realistic", "ours"],
  ["session.fetch()", "ours"],
];

const NODE_ROWS = [
  ["undici Clients", "raw"],
  ...SESSION_ROWS,
  ["global fetch", "global"],
  ["undici.request", "peer"],
  ["undici.fetch", "peer"],
  ["ky", "peer"],
  ["ofetch", "peer"],
  ["got", "peer"],
  ["axios", "peer"],
  ["new Session per request", "anti"],
];

const FETCH_RUNTIME_ROWS = (raw) => [
  [raw, "raw"],
  ...SESSION_ROWS,
  ["global fetch", "global"],
  ["ky", "peer"],
  ["ofetch", "peer"],
  ["new Session per request", "anti"],
];

/** The row list of each runtime. */
export const ROWS = {
  node: NODE_ROWS,
  node20: NODE_ROWS,
  deno: FETCH_RUNTIME_ROWS("fetch + HttpClient"),
  bun: FETCH_RUNTIME_ROWS("fetch + FetchSession"),
};

/** The bare session row, which the targets compare. */
export const BARE = "session.get().json()";

/**
 * The runtimes to run: `node` is the Node running this script (the one the
 * README's commands run), `node20` the installed Node 20 when that one is
 * another; Deno and Bun as the tests run them (scripts/runtimes.mjs).
 * Returns the runtimes and the warnings to print.
 */
export function findRuntimes(only) {
  const warnings = [];
  const deno = runtimeBin("deno");
  const bun = runtimeBin("bun");
  const runtimes = {
    node: {
      label: `Node ${process.versions.node}`,
      command: process.execPath,
      args: [],
    },
    deno: {
      label: `Deno ${runtimeVersion(deno)}`,
      command: deno,
      args: ["run", "--allow-all"],
    },
    bun: { label: `Bun ${runtimeVersion(bun)}`, command: bun, args: [] },
  };
  if (only.includes("node20")) {
    if (process.versions.node.startsWith("20.")) {
      warnings.push(
        "Node 20 is the Node running the benchmark: its rows are the node rows",
      );
      if (!only.includes("node")) only = [...only, "node"];
    } else {
      const node20 = runtimeBin("node20");
      runtimes.node20 = {
        label: `Node ${runtimeVersion(node20)}`,
        command: node20,
        args: [],
      };
    }
  }
  for (const name of Object.keys(runtimes)) {
    if (!only.includes(name)) delete runtimes[name];
  }
  return { runtimes, warnings };
}
