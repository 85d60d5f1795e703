// One benchmark row: a fresh process per row, started by run.mjs pinned to
// its own CPU. Runs on Node, Deno and Bun.
//
//   <runtime> client.mjs <approach> <url> <concurrency> <warmup> <requests>
//
// Every request checks the status and parses the JSON body. Prints one JSON
// line: { requests, seconds, rps, p50, p99, cpuUsPerRequest, peakRssMiB }.
import process from "node:process";
import { readFileSync } from "node:fs";

const [approach, url, concurrencyArg, warmupArg, requestsArg] = process.argv
  .slice(2);
const concurrency = Number(concurrencyArg);
const warmup = Number(warmupArg);
const requests = Number(requestsArg);
const origin = new URL(url).origin;
const path = new URL(url).pathname;

const isDeno = typeof globalThis.Deno !== "undefined";
const isBun = typeof globalThis.Bun !== "undefined";

async function library() {
  // Deno and Bun run the TypeScript sources; Node the tsc output of them.
  return isDeno || isBun
    ? await import("../../mod.ts")
    : await import("../../.build/mod.js");
}

function check(status, data) {
  if (status !== 200) throw new Error(`status ${status}`);
  if (data.id !== 42) throw new Error("unexpected body");
}

// Each approach: a setup returning { one(), close() }.
const approaches = {
  // --- Node -----------------------------------------------------------
  async "undici.request"() {
    const { Agent, request } = await import("undici");
    const dispatcher = new Agent({ connections: 50 });
    return {
      async one() {
        const res = await request(url, { dispatcher });
        check(res.statusCode, await res.body.json());
      },
      close: () => dispatcher.close(),
    };
  },
  // The session's own transport on Node driven directly: one undici Client
  // (one connection) per concurrent request, as NodeAdapter keeps them.
  async "undici Clients"() {
    const { Client } = await import("undici");
    const clients = [];
    return {
      async one(worker) {
        const client = clients[worker] ??= new Client(origin, {
          pipelining: 1,
          keepAliveTimeout: 4_000,
        });
        const res = await client.request({ path, method: "GET" });
        check(res.statusCode, await res.body.json());
      },
      close: () => Promise.all(clients.map((client) => client.close())),
    };
  },
  async "undici.fetch"() {
    const { Agent, fetch } = await import("undici");
    const dispatcher = new Agent({ connections: 50 });
    return {
      async one() {
        const res = await fetch(url, { dispatcher });
        check(res.status, await res.json());
      },
      close: () => dispatcher.close(),
    };
  },
  async ky() {
    const { default: ky } = await import("ky");
    const api = ky.create({ prefixUrl: origin, retry: 0 });
    return {
      async one() {
        check(200, await api.get(path.slice(1)).json());
      },
      close() {},
    };
  },
  async ofetch() {
    const { ofetch } = await import("ofetch");
    const api = ofetch.create({ baseURL: origin, retry: 0 });
    return {
      async one() {
        check(200, await api(path));
      },
      close() {},
    };
  },
  async got() {
    const { default: got } = await import("got");
    const api = got.extend({ prefixUrl: origin, retry: { limit: 0 } });
    return {
      async one() {
        const res = await api.get(path.slice(1), { responseType: "json" });
        check(res.statusCode, res.body);
      },
      close() {},
    };
  },
  async axios() {
    const { default: axios } = await import("axios");
    const http = await import("node:http");
    const httpAgent = new http.Agent({ keepAlive: true });
    const api = axios.create({ baseURL: origin, httpAgent });
    return {
      async one() {
        const res = await api.get(path);
        check(res.status, res.data);
      },
      close: () => httpAgent.destroy(),
    };
  },
  // --- Deno -------------------------------------------------------------
  "fetch + HttpClient"() {
    const client = Deno.createHttpClient({});
    return {
      async one() {
        const res = await fetch(url, { client });
        check(res.status, await res.json());
      },
      close: () => client.close(),
    };
  },
  // --- Bun --------------------------------------------------------------
  "fetch + FetchSession"() {
    const session = new Bun.FetchSession();
    return {
      async one() {
        const res = await session.fetch(url);
        check(res.status, await res.json());
      },
      close: () => session.close(),
    };
  },
  // --- every runtime ----------------------------------------------------
  "global fetch"() {
    return {
      async one() {
        const res = await fetch(url);
        check(res.status, await res.json());
      },
      close() {},
    };
  },
  async "session.get().json()"() {
    const { Session } = await library();
    const session = new Session({ baseUrl: origin });
    return {
      async one() {
        check(200, await session.get(path).json());
      },
      close: () => session.close(),
    };
  },
  // A session as real code sets one up: a token, two cookies, a
  // pass-through middleware and an observer.
  async "session realistic"() {
    const { Session } = await library();
    let events = 0;
    const session = new Session({
      baseUrl: origin,
      headers: { authorization: "Bearer t0ken" },
      cookies: { theme: "dark", lang: "en" },
      middleware: [(request, next) => next(request)],
      observe: () => {
        events++;
      },
    });
    return {
      async one() {
        check(200, await session.get(path).json());
      },
      close: () => {
        if (events === 0) throw new Error("the observer saw no event");
        return session.close();
      },
    };
  },
  async "session.fetch()"() {
    const { Session } = await library();
    const session = new Session({ baseUrl: origin });
    return {
      async one() {
        const res = await session.fetch(path);
        check(res.status, await res.json());
      },
      close: () => session.close(),
    };
  },
  async "new Session per request"() {
    const { Session } = await library();
    return {
      async one() {
        const session = new Session({ baseUrl: origin });
        try {
          check(200, await session.get(path).json());
        } finally {
          await session.close();
        }
      },
      close() {},
    };
  },
};

// --- Over TLS (h2.mjs): the CA's PEM file is in BENCH_CA_FILE ----------

const tlsCa = () => readFileSync(process.env.BENCH_CA_FILE, "utf8");

// The runtime's own transport, over h2 or over HTTP/1.1 with TLS.
async function rawTls(h2) {
  const ca = tlsCa();
  if (isDeno) {
    const client = Deno.createHttpClient(
      h2 ? { http1: false, http2: true, caCerts: [ca] } : {
        http2: false,
        caCerts: [ca],
      },
    );
    return fetchRow((input) => fetch(input, { client }), () => client.close());
  }
  if (isBun) {
    const session = new Bun.FetchSession({ tls: { ca }, proxy: false });
    const init = h2 ? { protocol: "h2" } : {};
    return fetchRow(
      (input) => session.fetch(input, init),
      () => session.close(),
    );
  }
  const { Client } = await import("undici");
  const options = { connect: { ca }, keepAliveTimeout: 4_000 };
  // One client for every stream over h2; one per worker over HTTP/1.1.
  const clients = [];
  const clientFor = (worker) =>
    clients[h2 ? 0 : worker] ??= new Client(
      origin,
      h2 ? { ...options, allowH2: true } : { ...options, pipelining: 1 },
    );
  return {
    async one(worker) {
      const res = await clientFor(worker).request({ path, method: "GET" });
      check(res.statusCode, await res.body.json());
    },
    close: () => Promise.all(clients.map((client) => client.close())),
  };
}

function fetchRow(send, close) {
  return {
    async one() {
      const res = await send(url);
      check(res.status, await res.json());
    },
    close,
  };
}

async function sessionTls(http2) {
  const { Session } = await library();
  const session = new Session({ baseUrl: origin, http2, tls: { ca: tlsCa() } });
  return {
    async one() {
      check(200, await session.get(path).json());
    },
    close: () => session.close(),
  };
}

// --- The protections of #19, set so that they never bind (protect.mjs) --

async function protectedSession(options) {
  const { Session } = await library();
  const session = new Session({ baseUrl: origin, ...options });
  return {
    async one() {
      check(200, await session.get(path).json());
    },
    close: () => session.close(),
  };
}

const NEVER = { requests: 1_000_000, per: 1 };
approaches["session rate limit (never binds)"] = () =>
  protectedSession({ rateLimit: { perHost: NEVER, total: NEVER } });
approaches["session rate limit, breaker, budget"] = () =>
  protectedSession({
    rateLimit: { perHost: NEVER, total: NEVER },
    circuitBreaker: { failures: 1_000_000, window: 1_000, cooldown: 1_000 },
    retry: { budget: { ratio: 1, minPerSecond: 1_000 } },
  });

approaches["raw h2"] = () => rawTls(true);
approaches["raw HTTP/1.1 TLS"] = () => rawTls(false);
approaches["session h2"] = () => sessionTls(true);
approaches["session HTTP/1.1 TLS"] = () => sessionTls(false);

const setup = approaches[approach];
if (!setup) throw new Error(`unknown approach ${approach}`);
const client = await setup();

async function drive(total, latencies) {
  let next = 0;
  async function worker(_, index) {
    while (next < total) {
      const i = next++;
      const start = performance.now();
      await client.one(index);
      if (latencies) latencies[i] = performance.now() - start;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function peakRssMiB() {
  const status = readFileSync("/proc/self/status", "utf8");
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

await drive(warmup);
const latencies = new Float64Array(requests);
const cpuBefore = process.cpuUsage();
const start = performance.now();
await drive(requests, latencies);
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await client.close();

latencies.sort();
const quantile = (q) =>
  latencies[Math.min(requests - 1, Math.floor(q * requests))];
console.log(JSON.stringify({
  requests,
  seconds,
  rps: requests / seconds,
  p50: quantile(0.5),
  p99: quantile(0.99),
  cpuUsPerRequest: (cpu.user + cpu.system) / requests,
  peakRssMiB: peakRssMiB(),
}));
// Deno and Bun may keep a global fetch pool open: leave now.
process.exit(0);
