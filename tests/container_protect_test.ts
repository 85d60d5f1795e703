// A container's temporary sessions (@attachSession) share its rate limits
// and circuits, as they share its cookie jar.
import assert from "node:assert/strict";
import {
  attachSession,
  CircuitOpenError,
  type ContainerOptions,
  HttpError,
  SessionContainer,
} from "../mod.ts";
import { startServer } from "./_server.ts";
import { test } from "./_test.ts";

class Limited extends SessionContainer {
  constructor(options: ContainerOptions) {
    super(options);
  }

  @attachSession
  async get(path: string): Promise<string> {
    return await this.session.get(path).text();
  }
}

test("rateLimit: a container's temporary sessions share its limits", async () => {
  const arrivals: number[] = [];
  await using server = await startServer({
    routes: {
      "*": (_request, response) => {
        arrivals.push(performance.now());
        response.end("ok");
      },
    },
  });
  const api = new Limited({
    baseUrl: server.url,
    idleDelay: 0,
    rateLimit: { perHost: { requests: 2, per: 300 } },
  });
  // Sequential calls: each may get a new temporary session.
  for (let i = 0; i < 6; i++) assert.equal(await api.get(`c/${i}`), "ok");
  await api.closeSession();
  // Any three arrivals span 300 ms or more: at most 2 in a window.
  for (let i = 2; i < arrivals.length; i++) {
    assert.ok(arrivals[i] - arrivals[i - 2] >= 300, `arrival ${i}`);
  }
});

test("circuitBreaker: a container's temporary sessions share its circuits", async () => {
  await using server = await startServer({
    routes: { "/down": { status: 500 } },
  });
  const api = new Limited({
    baseUrl: server.url,
    idleDelay: 0,
    retry: 0,
    circuitBreaker: { failures: 2, window: 5_000, cooldown: 5_000 },
  });
  // Each call may run on a new temporary session: the failures add up.
  await assert.rejects(api.get("down"), HttpError);
  await assert.rejects(api.get("down"), HttpError);
  await assert.rejects(api.get("down"), CircuitOpenError);
  await api.closeSession();
  assert.equal(server.requests.length, 2);
});
