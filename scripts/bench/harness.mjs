// What npm run bench and npm run bench:scale share: CPU pinning, the tsc
// build Node rows import, the upstream server (server.mjs) driven over IPC,
// and measurement processes that print one JSON line.
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** `true` when the server and each client can have a CPU of their own. */
export const canPin = cpus().length >= 2 &&
  spawnSync("taskset", ["-c", "0", "true"]).status === 0;
if (!canPin) {
  console.warn("bench: WARNING: cannot pin to separate CPUs; less stable");
}

/** `[command, args]` that run `command` on `cpu` when pinning works. */
export function pinned(cpu, command, commandArgs) {
  return canPin
    ? ["taskset", ["-c", String(cpu), command, ...commandArgs]]
    : [command, commandArgs];
}

/** Compile the library with tsc when a Node row will import it. */
export function buildForNode(runtimeNames) {
  if (!runtimeNames.some((name) => name.startsWith("node"))) return;
  const tsc = spawnSync(
    join(root, "node_modules/.bin/tsc"),
    ["-p", "tsconfig.json"],
    { cwd: root, stdio: "inherit" },
  );
  if (tsc.status !== 0) throw new Error("bench: tsc failed");
}

/**
 * Start server.mjs on CPU 0, listening on `ports` ports (or `"tls"`: one
 * HTTP/2 and HTTP/1.1 port over TLS). Resolves with its ports, `caFile`
 * (over TLS), `ask(cmd)` for its connection counters ("reset" zeroes them,
 * "stats" reads them) and `kill()`.
 */
export async function startServer(ports = 1) {
  const [command, args] = pinned(0, process.execPath, [
    join(import.meta.dirname, "server.mjs"),
    String(ports),
  ]);
  const server = spawn(command, args, {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const replies = new Map();
  let nextId = 0;
  let caFile;
  const listening = await new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error("bench: the server did not start")),
      30_000,
    );
    server.on("message", (message) => {
      if (message.ready) {
        clearTimeout(timer);
        caFile = message.caFile;
        resolveReady(message.ports);
      } else {
        replies.get(message.id)?.(message);
        replies.delete(message.id);
      }
    });
    server.on("exit", (code) => reject(new Error(`server exited: ${code}`)));
  });
  return {
    ports: listening,
    caFile,
    ask: (cmd) =>
      new Promise((resolveAsk) => {
        const id = nextId++;
        replies.set(id, resolveAsk);
        server.send({ cmd, id });
      }),
    kill: () => server.kill(),
  };
}

/**
 * Run a measurement process; resolves with the JSON of its last line of
 * output, or `undefined` (after saying why, and passing its first error
 * line to `onFailure`) when it failed or outlived `timeoutMs`.
 */
export function runJson(
  command,
  commandArgs,
  { label, timeoutMs, env, onFailure },
) {
  return new Promise((resolveRun) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolveRun(JSON.parse(out.trim().split("\n").pop() ?? ""));
      } catch (error) {
        console.error(
          `bench: ${label} failed (${error.message})\n${err.slice(-2000)}`,
        );
        onFailure?.(err.split("\n").find((line) => /Error/.test(line)) ?? "");
        resolveRun(undefined);
      }
    });
  });
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Run each of `rows` (client.mjs approaches) on each runtime at each
 * concurrency, `rounds` times interleaved, one fresh client process pinned
 * to CPU 1 per row, against `server` (its counters reset before each row).
 * Resolves with `summary(runtime, row, c)`: medians of rps, p50, p99, cpu
 * (µs per request) and conns (connections accepted), or `undefined`; and
 * `failures`: row label -> the client's error line.
 */
export async function runRows(
  { runtimes, rows, concurrencies, rounds, plan, url, server, env = {} },
) {
  const results = new Map();
  const failures = new Map();
  const key = (runtime, row, c) => `${runtime}|${row}|${c}`;
  for (let round = 1; round <= rounds; round++) {
    for (const c of concurrencies) {
      for (const runtime of Object.keys(runtimes)) {
        for (const row of rows) {
          const { command, args: runtimeArgs, label: name } = runtimes[runtime];
          const [pinnedCommand, pinnedArgs] = pinned(1, command, [
            ...runtimeArgs,
            join(import.meta.dirname, "client.mjs"),
            row,
            url,
            String(c),
            String(plan.warmup),
            String(plan.requests),
          ]);
          await server.ask("reset");
          const label = `${name} ${row} C=${c}`;
          const result = await runJson(pinnedCommand, pinnedArgs, {
            label,
            timeoutMs: 600_000,
            env,
            onFailure: (line) => failures.set(label, line.trim()),
          });
          const { accepted } = await server.ask("stats");
          if (result === undefined) continue;
          const list = results.get(key(runtime, row, c)) ?? [];
          list.push({ ...result, conns: accepted });
          results.set(key(runtime, row, c), list);
          console.log(
            `round ${round} ${label}: ${
              Math.round(result.rps)
            } req/s, ${accepted} connections`,
          );
        }
      }
    }
  }
  const summary = (runtime, row, c) => {
    const list = results.get(key(runtime, row, c));
    if (list === undefined) return undefined;
    const pick = (field) => median(list.map((entry) => entry[field]));
    return {
      rps: pick("rps"),
      p50: pick("p50"),
      p99: pick("p99"),
      cpu: pick("cpuUsPerRequest"),
      conns: pick("conns"),
    };
  };
  return { summary, failures };
}
