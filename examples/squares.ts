/**
 * The seed's example, end to end on loopback, with nothing to configure:
 *
 * 1. a local math service stands in for api.mathjs.org (`GET /v4/?expr=7^2`
 *    answers `49`);
 * 2. a squares server (`GET /squares?values=1,2,3`) built with a
 *    `MathRequests` session container, whose session is opened when the
 *    server starts and closed when it stops;
 * 3. a request to it, printing the seed's JSON;
 * 4. the same work with a session per request (the anti-pattern), side by
 *    side: TCP connections opened to the math service, and time taken.
 *
 * Run: `npm run demo`, or `scripts/runtimes/node_modules/.bin/deno run -A examples/squares.ts`
 * (or `bun` the same file).
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { attachSession, Session, SessionContainer } from "../mod.ts";

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    })
  );
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// 1. The math service: evaluates "a^b" (or a plain number), counts the TCP
//    connections it accepts.
let mathConnections = 0;
const math = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  const expr = url.searchParams.get("expr") ?? "";
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*(?:\^\s*(-?\d+(?:\.\d+)?))?\s*$/
    .exec(expr);
  if (!/^\/v4\/?$/.test(url.pathname) || match === null) {
    response.writeHead(400, { "content-type": "text/plain" });
    response.end(`Error: cannot evaluate ${JSON.stringify(expr)}`);
    return;
  }
  const value = Number(match[1]) ** Number(match[2] ?? 1);
  response.writeHead(200, { "content-type": "text/plain" });
  response.end(String(value));
});
math.on("connection", () => mathConnections++);
const mathUrl = await listen(math);

// 2. The API wrapper: its session is hidden behind @attachSession.
class MathRequests extends SessionContainer {
  constructor() {
    super({ baseUrl: `${mathUrl}/v4`, raiseForStatus: true, timeout: 5_000 });
  }

  @attachSession
  async getText(params: Record<string, string>): Promise<string> {
    return await this.session.get("", { params }).text();
  }

  getSquare(value: number | string): Promise<string> {
    return this.getText({ expr: `${value}^2` });
  }
}

// The anti-pattern: a new session (a new connection pool) for every call.
async function getSquarePerRequest(value: string): Promise<string> {
  await using session = new Session({ baseUrl: `${mathUrl}/v4` });
  return await session.get("", { params: { expr: `${value}^2` } }).text();
}

function squaresServer(
  square: (value: string) => Promise<string>,
): Server {
  return createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== "/squares") {
      response.writeHead(404).end();
      return;
    }
    const values = (url.searchParams.get("values") ?? "").split(",")
      .filter((v) => v !== "");
    try {
      const results = await Promise.all(values.map(square));
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ values, results }));
    } catch (error) {
      response.writeHead(502, { "content-type": "text/plain" });
      response.end(String(error));
    }
  });
}

const values = Array.from({ length: 10 }, (_, i) => String(i + 1)).join(",");
const WARMUP = 5; // rounds before timing, so both sides run warm code
const ROUNDS = 50;

interface Run {
  name: string;
  client: Session;
  connections: number;
  ms: number;
  body: string;
}

async function rounds(run: Run, count: number): Promise<number> {
  const before = mathConnections;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    run.body = await run.client.get("squares", { params: { values } }).text();
  }
  run.connections += mathConnections - before;
  return performance.now() - started;
}

// 3. The squares server, with one MathRequests for its whole lifetime: the
//    session opens when the server starts and closes when it stops (the
//    seed's before_server_start and after_server_stop).
const maths = new MathRequests();
const sharedServer = squaresServer((value) => maths.getSquare(value));
const sharedUrl = await listen(sharedServer);
maths.startSession();

// 4. The same server with a session per request.
const perRequestServer = squaresServer(getSquarePerRequest);
const perRequestUrl = await listen(perRequestServer);

{
  await using sharedClient = new Session({ baseUrl: sharedUrl });
  await using perRequestClient = new Session({ baseUrl: perRequestUrl });
  const runs: Run[] = [
    {
      name: "one session (MathRequests)",
      client: sharedClient,
      connections: 0,
      ms: 0,
      body: "",
    },
    {
      name: "a session per request",
      client: perRequestClient,
      connections: 0,
      ms: 0,
      body: "",
    },
  ];
  for (const run of runs) await rounds(run, WARMUP);
  for (const run of runs) run.ms = await rounds(run, ROUNDS);

  console.log(`GET /squares?values=${values}`);
  console.log(runs[0].body);
  if (runs[1].body !== runs[0].body) {
    throw new Error(`the two servers disagree: ${runs[1].body}`);
  }
  const calls = (WARMUP + ROUNDS) * 10;
  console.log(
    `\n${
      WARMUP + ROUNDS
    } requests to /squares (${calls} calls to the math service), the last ${ROUNDS} timed:`,
  );
  for (const run of runs) {
    console.log(
      `  ${run.name.padEnd(28)} ${
        String(run.connections).padStart(4)
      } TCP connection(s) to the math service, ${
        (run.ms / ROUNDS).toFixed(2)
      } ms per /squares request`,
    );
  }
}

await maths.closeSession();
await closeServer(sharedServer);
await closeServer(perRequestServer);
await closeServer(math);
