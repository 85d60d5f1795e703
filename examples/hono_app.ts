/**
 * A Hono app with its own {@linkcode SessionRegistry}: a middleware puts the
 * registry on the context, so handlers take their session from `c.var`, and
 * the registry is closed when the app shuts down. The same app is served with
 * `Deno.serve` on Deno, `Bun.serve` on Bun and `@hono/node-server` on Node.
 * After shutdown, the upstream server counts the sockets still open to it:
 * closing the registry closed them all.
 *
 * Run: `scripts/runtimes/node_modules/.bin/deno run -A examples/hono_app.ts` or
 * `scripts/runtimes/node_modules/.bin/bun examples/hono_app.ts` (on Node, run its tsc output:
 * `npx tsc -p tsconfig.json`, then `node .build/examples/hono_app.js`).
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Hono } from "hono";
import { SessionRegistry } from "../mod.ts";

// An upstream API on loopback, standing in for GitHub. It knows the users'
// names (so a name in a response came from here), counts the connections
// made to it and keeps the sockets open right now.
const names: Record<string, string> = {
  ada: "Ada Lovelace",
  grace: "Grace Hopper",
  alan: "Alan Turing",
};
let upstreamConnections = 0;
const upstreamSockets = new Set<Socket>();
const upstream = createServer((request, response) => {
  const login = request.url?.split("/").pop() ?? "";
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ login, name: names[login] }));
});
// Never closes an idle connection itself within the example's lifetime, so a
// socket that is gone after shutdown was closed by the session's side.
upstream.keepAliveTimeout = 60_000;
upstream.on("connection", (socket: Socket) => {
  upstreamConnections++;
  upstreamSockets.add(socket);
  socket.on("close", () => upstreamSockets.delete(socket));
});
await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
const upstreamUrl = `http://127.0.0.1:${
  (upstream.address() as AddressInfo).port
}`;

type Sessions = SessionRegistry<"github">;
// The context variables every handler sees, typed: c.var.sessions.
type Env = { Variables: { sessions: Sessions } };

/** The app and the registry it owns: one registry per app. */
function createApp(): { app: Hono<Env>; sessions: Sessions } {
  const sessions = new SessionRegistry({
    github: { baseUrl: upstreamUrl, headers: { accept: "application/json" } },
  });
  const app = new Hono<Env>();
  // Handlers, wherever they are defined, reach the registry as c.var.sessions.
  app.use(async (c, next) => {
    c.set("sessions", sessions);
    await next();
  });
  app.get("/users/:login", async (c) => {
    const github = c.var.sessions.get("github");
    return c.json(await github.get(`users/${c.req.param("login")}`).json());
  });
  return { app, sessions };
}

// Each runtime's own server, reduced to what the example needs.
interface Listening {
  runtime: string;
  url: string;
  /** Stop accepting connections, finish the requests in flight, close. */
  shutdown(): Promise<void>;
}

type Fetch = (request: Request) => Response | Promise<Response>;

const { Deno: deno, Bun: bun } = globalThis as {
  Deno?: {
    serve(
      options: { hostname: string; port: number; onListen(): void },
      handler: Fetch,
    ): { addr: { port: number }; shutdown(): Promise<void> };
  };
  Bun?: {
    serve(options: { hostname: string; port: number; fetch: Fetch }): {
      port: number;
      stop(closeActiveConnections?: boolean): Promise<void>;
    };
  };
};

async function listen(fetch: Fetch): Promise<Listening> {
  if (deno) {
    const server = deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      fetch,
    );
    return {
      runtime: "deno",
      url: `http://127.0.0.1:${server.addr.port}`,
      shutdown: () => server.shutdown(),
    };
  }
  if (bun) {
    const server = bun.serve({ hostname: "127.0.0.1", port: 0, fetch });
    return {
      runtime: "bun",
      url: `http://127.0.0.1:${server.port}`,
      // Finishes the requests in flight, then closes the idle keep-alive
      // connections too.
      shutdown: () => server.stop(true),
    };
  }
  // Loaded only on Node: Deno and Bun serve Hono's fetch handler natively.
  const { serve } = await import("@hono/node-server");
  const server = await new Promise<Server>((resolve) => {
    const server = serve(
      { fetch, hostname: "127.0.0.1", port: 0 },
      () => resolve(server as Server),
    );
  });
  return {
    runtime: "node",
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // server.close() closes idle keep-alive connections (Node 19+) and
    // waits for the others to finish.
    shutdown: () =>
      new Promise((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve()))
      ),
  };
}

const { app, sessions } = createApp();
const server = await listen(app.fetch);
const label = `Hono (${server.runtime})`;

const served = [];
for (const login of Object.keys(names)) {
  const response = await fetch(`${server.url}/users/${login}`);
  served.push((await response.json()).name);
}
console.log(
  `${label} served ${
    served.join(", ")
  } over ${upstreamConnections} upstream connection(s)`,
);

// Shutdown: the server first (no request can need a session after this),
// then the app's registry.
await server.shutdown();
await sessions.close();

// The upstream learns of a closed connection a moment later: wait for the
// close events, within a bound far below its keep-alive timeout.
const deadline = Date.now() + 2_000;
while (upstreamSockets.size > 0 && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
console.log(
  `${label} upstream sockets open after shutdown: ${upstreamSockets.size}`,
);

upstream.closeAllConnections();
upstream.close();
