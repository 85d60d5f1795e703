/**
 * An Express app with its own {@linkcode SessionRegistry}: the registry is
 * kept in `app.locals`, so handlers take their session from
 * `request.app.locals`, and it is closed when the app's HTTP server closes.
 * After shutdown, the upstream server counts the sockets still open to it:
 * closing the registry closed them all.
 *
 * Run on Node from its tsc output (`npx tsc -p tsconfig.json` first):
 * `node .build/examples/express_app.js`
 * (or `scripts/runtimes/node_modules/.bin/deno run -A examples/express_app.ts`, or
 * `scripts/runtimes/node_modules/.bin/bun examples/express_app.ts`).
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import express from "express";
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

// app.locals is typed loosely (any); this gives handlers the registry's type.
function sessionsOf(request: express.Request): Sessions {
  return request.app.locals.sessions;
}

const app = express();
const sessions: Sessions = new SessionRegistry({
  github: { baseUrl: upstreamUrl, headers: { accept: "application/json" } },
});
app.locals.sessions = sessions;
// Express 5 hands an async handler's rejection (an HttpError, say) to its
// error handler, so the handler needs no try/catch.
app.get("/users/:login", async (request, response) => {
  const github = sessionsOf(request).get("github");
  response.json(await github.get(`users/${request.params.login}`).json());
});

const server = app.listen(0, "127.0.0.1");
// However the server comes to close, the registry closes with it.
let closing: Promise<void> | undefined;
server.on("close", () => (closing = sessions.close()));
await new Promise((resolve) => server.once("listening", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
// Express runs on Node's http module, which Deno and Bun implement too.
const label = `Express (${
  "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node"
})`;

const served = [];
for (const login of Object.keys(names)) {
  const response = await fetch(`${url}/users/${login}`);
  served.push((await response.json()).name);
}
console.log(
  `${label} served ${
    served.join(", ")
  } over ${upstreamConnections} upstream connection(s)`,
);

// server.close() closes idle keep-alive connections (Node 19+), waits for the
// others to finish, then emits "close", which closes the registry: wait for
// that close (nothing else closes it, so an upstream socket left open means
// the hook did not run).
await new Promise<void>((resolve, reject) =>
  server.close((error) => (error ? reject(error) : resolve()))
);
await closing;

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
