// SessionRegistry: named sessions against real loopback servers.
import assert from "node:assert/strict";
import { SessionClosedError, SessionRegistry } from "../mod.ts";
import { startServer } from "./_server.ts";
import { delay, test, waitFor } from "./_test.ts";

test("SessionRegistry: named sessions, created on first use, closed together", async () => {
  await using github = await startServer({ routes: { "/g": { body: "g" } } });
  await using facebook = await startServer({ routes: { "/f": { body: "f" } } });
  const sessions = new SessionRegistry({
    github: { baseUrl: github.url },
    facebook: { baseUrl: facebook.url, headers: { "x-site": "fb" } },
  });
  assert.equal(github.accepted + facebook.accepted, 0, "no I/O before use");
  assert.equal(sessions.get("github"), sessions.get("github"));
  for (let i = 0; i < 5; i++) {
    assert.equal(await sessions.get("github").get("g").text(), "g");
    assert.equal(await sessions.get("facebook").get("f").text(), "f");
  }
  assert.equal(github.accepted, 1);
  assert.equal(facebook.accepted, 1);
  assert.equal(facebook.requests[0].headers["x-site"], "fb");
  const more = sessions.define("later", { baseUrl: github.url });
  assert.ok(Object.is(more, sessions));
  assert.ok(sessions.has("later"));
  assert.throws(() => sessions.define("github", {}), /already defined/);
  assert.throws(() => sessions.define("bad", { limit: -1 }), RangeError);
  assert.throws(
    () => sessions.get("nope" as "github"),
    /'nope' as it is not defined \(defined: 'github', 'facebook', 'later'\)/,
  );
  const github1 = sessions.get("github");
  await sessions.close();
  assert.equal(sessions.closed, true);
  assert.equal(github1.closed, true);
  await waitFor(() => github.open === 0 && facebook.open === 0);
  await assert.rejects(github1.get("g"), SessionClosedError);
  assert.throws(() => more.get("later"), /registry is closed/);
  assert.throws(() => sessions.get("github"), /registry is closed/);
  await delay(0);
});

test("SessionRegistry.get() after close() throws SessionClosedError", async () => {
  const sessions = new SessionRegistry({ api: {} });
  await sessions.close();
  assert.throws(() => sessions.get("api"), SessionClosedError);
});
