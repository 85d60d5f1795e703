// Process-level lifecycle, in a child process of the runtime under test:
// idle sockets never keep a process alive, and a session dropped unclosed
// warns once, naming where it was created.
import assert from "node:assert/strict";
import { runScript } from "./_child.ts";
import { startServer } from "./_server.ts";
import { test } from "./_test.ts";

// A bound against hanging, far above a normal exit and far below the 120 s
// keep-alive that a ref'd socket would wait for.
const LIMIT = 20_000;

test("Lifecycle: idle pooled sockets do not keep the process alive", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runScript(
    import.meta.url,
    "./fixtures/lifecycle.ts",
    ["idle", `${server.url}/hello`],
    LIMIT,
  );
  assert.ok(
    !outcome.killed,
    `child still running after 20 s:\n${outcome.stderr}`,
  );
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stdout, /idle: returning with the session open/);
  assert.equal(server.accepted, 1);
});

test("Lifecycle: a session dropped unclosed warns once, naming where it was created", async () => {
  await using server = await startServer({ keepAliveTimeout: 120_000 });
  const outcome = await runScript(
    import.meta.url,
    "./fixtures/lifecycle.ts",
    ["unclosed", `${server.url}/hello`],
    LIMIT,
  );
  assert.ok(
    !outcome.killed,
    `child still running after 20 s:\n${outcome.stderr}`,
  );
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stdout, /unclosed: 1 warning\(s\)/);
  assert.match(outcome.stderr, /Unclosed Session/);
  assert.match(outcome.stderr, /lifecycle\.(ts|js):\d+/);
});
