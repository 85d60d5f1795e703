// Process-level lifecycle, in a child process of the runtime under test:
// idle sockets never keep a process alive, and a session dropped unclosed
// warns once, naming where it was created.
import assert from "node:assert/strict";
import { runLifecycleFixture } from "./_child.ts";
import { startServer } from "./_server.ts";
import { test } from "./_test.ts";

test("Lifecycle: idle pooled sockets do not keep the process alive", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runLifecycleFixture("idle", `${server.url}/hello`);
  assert.match(outcome.stdout, /idle: returning with the session open/);
  assert.equal(server.accepted, 1);
});

test("Lifecycle: a session dropped unclosed warns once, naming where it was created", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runLifecycleFixture("unclosed", `${server.url}/hello`);
  assert.match(outcome.stdout, /unclosed: 1 warning\(s\)/);
  assert.match(outcome.stderr, /Unclosed Session/);
  assert.match(outcome.stderr, /lifecycle\.(ts|js):\d+/);
});
