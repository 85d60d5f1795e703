// One scale measurement, in a fresh process started by scale.mjs, pinned to
// its own CPU. Runs on Node, Deno and Bun.
//
//   <runtime> scale_client.mjs <scenario> <n> <ports>
//
//   origins  one session, requests spread over <n> origins (absolute URLs):
//            CPU per request
//   sessions <n> sessions in one process, requests spread over them: CPU
//            per request
//   "origins raw", "sessions raw": the same with the runtime's transport
//            driven directly (undici Clients, fetch + HttpClient, FetchSession)
//   queue    <n> requests queued behind `limit: 1` (the first one waits on
//            a slow answer): heap bytes per queued request
//   rss      <n> requests: RSS after the first tenth and at the end
//
// Prints one JSON line.
import process from "node:process";
import { readFileSync } from "node:fs";

const [scenario, nArg, portsArg] = process.argv.slice(2);
const n = Number(nArg);
const ports = portsArg.split(",").map(Number);
const origins = ports.map((port) => `http://127.0.0.1:${port}`);
const PATH = "/users/42";
const CONCURRENCY = 50;
const WARMUP = 20_000;
const MEASURED = 100_000;

const isDeno = typeof globalThis.Deno !== "undefined";
const isBun = typeof globalThis.Bun !== "undefined";
const { Session } = isDeno || isBun
  ? await import("../../mod.ts")
  : await import("../../.build/mod.js");

function collect() {
  if (isBun) globalThis.Bun.gc(true);
  else if (globalThis.gc) globalThis.gc();
  else throw new Error("run with --expose-gc");
}

function rssMiB() {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

function check(data) {
  if (data.id !== 42) throw new Error("unexpected body");
}

// `total` requests, CONCURRENCY at a time; `one(i)` makes request i.
async function drive(total, one) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) check(await one(next++));
    }),
  );
}

async function cpuPerRequest(one) {
  await drive(WARMUP, one);
  const before = process.cpuUsage();
  await drive(MEASURED, one);
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / MEASURED;
}

// The runtime's own transport, driven directly: `pools` pools (one per
// origin or per simulated session), GET url and parse the JSON.
async function rawTransport(pools) {
  if (isDeno) {
    const clients = Array.from(
      { length: pools },
      () => Deno.createHttpClient({}),
    );
    return {
      get: (url, i) =>
        fetch(url, { client: clients[i % pools] }).then((r) => r.json()),
      close: () => clients.forEach((client) => client.close()),
    };
  }
  if (isBun) {
    const sessions = Array.from(
      { length: pools },
      () => new Bun.FetchSession(),
    );
    return {
      get: (url, i) => sessions[i % pools].fetch(url).then((r) => r.json()),
      close: () => sessions.forEach((session) => session.close()),
    };
  }
  // Node: idle undici Clients (one connection each) per origin, as
  // NodeAdapter keeps them.
  const { Client } = await import("undici");
  const idle = Array.from({ length: pools }, () => new Map());
  const all = [];
  return {
    async get(url, i) {
      const { origin, pathname } = new URL(url);
      const free = idle[i % pools].get(origin) ??
        idle[i % pools].set(origin, []).get(origin);
      let client = free.pop();
      if (client === undefined) {
        client = new Client(origin, { pipelining: 1, keepAliveTimeout: 4_000 });
        all.push(client);
      }
      try {
        const res = await client.request({ path: pathname, method: "GET" });
        return await res.body.json();
      } finally {
        free.push(client);
      }
    },
    close: () => Promise.all(all.map((client) => client.close())),
  };
}

const scenarios = {
  // The same spread, with the runtime's transport driven directly.
  async "origins raw"() {
    const raw = await rawTransport(1);
    const urls = origins.slice(0, n).map((origin) => origin + PATH);
    const cpuUs = await cpuPerRequest((i) => raw.get(urls[i % urls.length], 0));
    await raw.close();
    return { cpuUs };
  },
  async "sessions raw"() {
    const raw = await rawTransport(n);
    const url = origins[0] + PATH;
    const cpuUs = await cpuPerRequest((i) => raw.get(url, i));
    await raw.close();
    return { cpuUs };
  },
  async origins() {
    const session = new Session();
    const urls = origins.slice(0, n).map((origin) => origin + PATH);
    const cpuUs = await cpuPerRequest((i) =>
      session.get(urls[i % urls.length]).json()
    );
    await session.close();
    return { cpuUs };
  },
  async sessions() {
    const sessions = Array.from(
      { length: n },
      () => new Session({ baseUrl: origins[0] }),
    );
    const cpuUs = await cpuPerRequest((i) => sessions[i % n].get(PATH).json());
    await Promise.all(sessions.map((session) => session.close()));
    return { cpuUs };
  },
  async queue() {
    const session = new Session({
      baseUrl: origins[0],
      limit: 1,
      maxQueue: Infinity,
    });
    // Warm the code paths, then hold the only slot.
    for (let i = 0; i < 1_000; i++) check(await session.get(PATH).json());
    const held = session.get("/slow").text().catch(() => {});
    const queued = [];
    collect();
    const before = process.memoryUsage().heapUsed;
    // The session's promises only: handlers come after the measurement.
    for (let i = 0; i < n; i++) queued.push(session.get(PATH));
    // Let each request reach the queue.
    await new Promise((resolve) => setTimeout(resolve, 100));
    collect();
    const after = process.memoryUsage().heapUsed;
    if (session.pending !== n + 1) {
      throw new Error(`${session.pending} pending, expected ${n + 1}`);
    }
    const settled = Promise.allSettled(queued);
    await session.destroy();
    await Promise.all([held, settled]);
    return { bytesPerRequest: (after - before) / n };
  },
  async rss() {
    const session = new Session({ baseUrl: origins[0] });
    const tenth = Math.floor(n / 10);
    await drive(tenth, () => session.get(PATH).json());
    const early = rssMiB();
    let peak = early;
    for (let done = tenth; done < n; done += tenth) {
      await drive(Math.min(tenth, n - done), () => session.get(PATH).json());
      peak = Math.max(peak, rssMiB());
    }
    const end = rssMiB();
    await session.close();
    return { earlyMiB: early, peakMiB: peak, endMiB: end };
  },
};

const run = scenarios[scenario];
if (!run) throw new Error(`unknown scenario ${scenario}`);
console.log(JSON.stringify({ scenario, n, ...(await run()) }));
process.exit(0);
