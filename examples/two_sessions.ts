/**
 * Two sessions for two kinds of work, as the seeds suggest: one that never
 * queues, for urgent requests, and one with a small connection limit and a
 * long queue, for bulk work that must not flood the upstream. Within the
 * bulk session, `priority` lets some queued requests go first.
 *
 * Run: `scripts/runtimes/node_modules/.bin/deno run -A examples/two_sessions.ts` (or `bun`
 * the same file; `npm test` runs every example).
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Session } from "../mod.ts";

// A slow local API (20 ms a request) that tracks how many requests it
// serves at once.
let active = 0;
let peak = 0;
const server = createServer((request, response) => {
  active++;
  peak = Math.max(peak, active);
  setTimeout(() => {
    active--;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ path: request.url }));
  }, 20);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

{
  // Urgent: no connection limit, so it never waits behind other work.
  await using urgent = new Session({ baseUrl, limit: 0, timeout: 2_000 });
  // Bulk: at most 2 connections; up to 1,000 requests wait their turn.
  await using bulk = new Session({
    baseUrl,
    limit: 2,
    maxQueue: 1_000,
    timeout: 60_000,
  });

  const finished: string[] = [];
  const started = performance.now();
  const jobs = Array.from(
    { length: 20 },
    (_, i) =>
      bulk.get(`/report/${i}`).json().then(() => finished.push(`report ${i}`)),
  );
  // Queued behind the first reports, but ahead of the rest of them.
  const billing = bulk.get("/billing", { priority: 10 }).json()
    .then(() => finished.push("billing (priority 10)"));
  // Goes at once, through its own session.
  await urgent.get("/health").json();
  const urgentMs = performance.now() - started;
  await Promise.all([...jobs, billing]);
  const bulkMs = performance.now() - started;

  console.log(`urgent request answered after ${urgentMs.toFixed(0)} ms`);
  console.log(`21 bulk requests took ${bulkMs.toFixed(0)} ms`);
  console.log(
    `billing finished in position ${
      finished.indexOf("billing (priority 10)") + 1
    } of 21`,
  );
  console.log(
    `the server saw at most ${peak} requests at once (bulk limit 2 + urgent 1)`,
  );
}

server.close();
