/**
 * Sessions that live as long as a server: a {@linkcode SessionRegistry}
 * opened when the server starts and closed when it stops (aiohttp's
 * before_server_start / after_server_stop), shown with node:http, with
 * Fastify's onClose hook, and with Deno.serve when running on Deno. Request
 * handlers anywhere in the code take their session from the registry.
 *
 * Run: `scripts/runtimes/node_modules/.bin/deno run -A examples/app_lifecycle.ts` (or `bun`
 * the same file; `npm test` runs every example).
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import Fastify from "fastify";
import { SessionRegistry } from "../mod.ts";

// An upstream API on loopback, standing in for GitHub; counts connections
// and keeps the sockets open right now. It never closes an idle connection
// itself within the example's lifetime, so a socket gone after shutdown was
// closed by the session's side.
let upstreamConnections = 0;
const upstreamSockets = new Set<Socket>();
const upstream = createServer((request, response) => {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ login: request.url?.split("/").pop() }));
});
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

// The application's sessions, by site. In a real app this lives in its own
// module and is imported wherever a session is needed.
function createSessions() {
  return new SessionRegistry({
    github: { baseUrl: upstreamUrl, headers: { accept: "application/json" } },
  });
}

// After a shutdown: whether the sessions closed, and the sockets still open
// at the upstream (which learns of a close a moment later: a bounded wait).
async function report(name: string, closed: boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (upstreamSockets.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(
    `${
      name.padEnd(10)
    } sessions closed with the server: ${closed}, upstream sockets open: ${upstreamSockets.size}`,
  );
}

async function exercise(name: string, url: string): Promise<void> {
  upstreamConnections = 0;
  const users = [];
  for (const login of ["ada", "grace", "alan", "edsger", "barbara"]) {
    const response = await fetch(`${url}/users/${login}`);
    users.push((await response.json()).login);
  }
  console.log(
    `${name.padEnd(10)} served ${
      users.join(", ")
    } over ${upstreamConnections} upstream connection(s)`,
  );
}

// 1. node:http: open on "listening", close on "close".
{
  let sessions: SessionRegistry<"github"> | undefined;
  const server: Server = createServer(async (request, response) => {
    const login = request.url?.split("/").pop() ?? "";
    const user = await sessions!.get("github").get(`users/${login}`).json();
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(user));
  });
  server.on("listening", () => (sessions = createSessions()));
  server.on("close", () => sessions?.close());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await exercise(
    "node:http",
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  );
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  // What the "close" hook did, before waiting for it (close() is idempotent).
  const closedByServer = sessions!.closed;
  await sessions!.close();
  await report("node:http", closedByServer);
}

// 2. Fastify: decorate the app with the registry, close it in onClose.
{
  const app = Fastify();
  const sessions = createSessions();
  app.addHook("onClose", () => sessions.close());
  app.get<{ Params: { login: string } }>(
    "/users/:login",
    (request) =>
      sessions.get("github").get(`users/${request.params.login}`).json(),
  );
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  await exercise("Fastify", address);
  await app.close();
  await report("Fastify", sessions.closed);
}

// 3. Deno.serve: open before serving, close once the server has finished.
const deno = (globalThis as {
  Deno?: {
    serve(
      options: {
        hostname: string;
        port: number;
        onListen(address: { port: number }): void;
      },
      handler: (request: Request) => Promise<Response>,
    ): { finished: Promise<void>; shutdown(): Promise<void> };
  };
}).Deno;
if (deno) {
  const sessions = createSessions();
  let port = 0;
  const server = deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (address) => (port = address.port),
  }, async (request) => {
    const login = new URL(request.url).pathname.split("/").pop();
    return Response.json(
      await sessions.get("github").get(`users/${login}`).json(),
    );
  });
  server.finished.then(() => sessions.close());
  await exercise("Deno.serve", `http://127.0.0.1:${port}`);
  await server.shutdown();
  await server.finished;
  // What the `finished` hook did, before waiting for it.
  const closedByServer = sessions.closed;
  await sessions.close();
  await report("Deno.serve", closedByServer);
}

upstream.closeAllConnections();
upstream.close();
