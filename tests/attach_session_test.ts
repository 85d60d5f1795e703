// attachSession in its three forms, against a real loopback server.
import assert from "node:assert/strict";
import { attachSession, SessionContainer } from "../mod.ts";
import { startServer } from "./_server.ts";
import { test, waitFor } from "./_test.ts";

test("attachSession: name, this and arguments are preserved; three forms", async () => {
  await using server = await startServer();
  class Forms extends SessionContainer {
    constructor() {
      super({ baseUrl: server.url, idleDelay: 0 });
    }
    @attachSession
    async tc39(a: number, b: number): Promise<string> {
      await Promise.resolve();
      return `${this.constructor.name}:${a + b}:${this.session.closed}`;
    }
    plain = attachSession(async function (this: Forms, a: number) {
      await Promise.resolve();
      return `${this.constructor.name}:${a}:${this.session.closed}`;
    });
    async legacy(a: number): Promise<string> {
      await Promise.resolve();
      return `${this.constructor.name}:${a}:${this.session.closed}`;
    }
  }
  // What TypeScript's experimentalDecorators emit does for @attachSession.
  const descriptor = Object.getOwnPropertyDescriptor(
    Forms.prototype,
    "legacy",
  )!;
  const returned = attachSession(Forms.prototype, "legacy", descriptor);
  assert.equal(returned, descriptor);
  Object.defineProperty(Forms.prototype, "legacy", returned);

  const forms = new Forms();
  assert.equal(forms.tc39.name, "tc39");
  assert.equal(Forms.prototype.legacy.name, "legacy");
  assert.equal(await forms.tc39(1, 2), "Forms:3:false");
  assert.equal(await forms.plain(4), "Forms:4:false");
  assert.equal(await forms.legacy(5), "Forms:5:false");
  await forms.closeSession();
  await assert.rejects(
    Forms.prototype.tc39.call({} as Forms, 1, 2),
    /must be called on a SessionContainer/,
  );
  assert.throws(
    () =>
      attachSession(
        Forms.prototype,
        "x",
        { get: () => 1 } as unknown as PropertyDescriptor,
      ),
    /decorates methods/,
  );
});

test("attachSession: a plain function returning an async iterable (down-levelled generators)", async () => {
  await using server = await startServer();
  class Old extends SessionContainer {
    constructor() {
      super({ baseUrl: server.url, idleDelay: 0 });
    }
    // What an async generator compiled for an old target looks like: a
    // plain function returning an async iterator.
    items = attachSession(function (this: Old, count: number) {
      return (async function* (self: Old) {
        for (let i = 0; i < count; i++) {
          assert.ok(self.hasSession);
          yield await self.session.get(`i/${i}`).json();
        }
      })(this);
    });
  }
  const old = new Old();
  const seen: unknown[] = [];
  for await (const item of old.items(3)) seen.push(item);
  assert.equal(seen.length, 3);
  await waitFor(() => !old.hasSession);
  assert.equal(server.accepted, 1);
});
