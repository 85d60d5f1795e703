/**
 * One session for many requests, against a local server started here.
 *
 * Run: `scripts/runtimes/node_modules/.bin/deno run -A examples/basic.ts` (or `bun` the same
 * file; `npm test` runs it on Deno, Node and Bun).
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpError, Session } from "../mod.ts";

// A tiny JSON API on 127.0.0.1 that counts the TCP connections it accepts.
let connections = 0;
const server = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname === "/v1/missing") {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "not found" }));
    return;
  }
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ path: url.pathname, query: url.search }));
});
server.on("connection", () => connections++);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;

{
  await using session = new Session({
    baseUrl: `http://127.0.0.1:${port}/v1`,
    headers: { authorization: "Bearer t0ken" },
    timeout: 5_000,
    limit: 10, // at most 10 connections; the other requests wait their turn
  });

  const started = performance.now();
  const users = await Promise.all(
    Array.from({ length: 100 }, (_, i) => session.get(`users/${i}`).json()),
  );
  const ms = (performance.now() - started).toFixed(1);
  console.log(`100 requests in ${ms} ms over ${connections} connection(s)`);
  console.log("first:", users[0]);

  const search = await session.get("search", {
    params: { q: "x", tag: ["a", "b"] },
  }).json();
  console.log("with params:", search);

  try {
    await session.get("missing");
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    console.log(`HttpError ${error.status}:`, await error.response.json());
  }
} // the session closes here: every connection is closed
console.log(`session closed; connections accepted in all: ${connections}`);
server.close();
