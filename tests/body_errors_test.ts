// A body that breaks while it is read fails with the library's own error,
// whichever way it is read and on every runtime: NetworkError, or
// TimeoutError with its phase; session.fetch() bodies fail as fetch's do (a
// TypeError) with that error as `cause`.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import {
  NetworkError,
  Session,
  type SessionError,
  type SessionResponse,
  TimeoutError,
} from "../mod.ts";
import { onRequests, tcpServer } from "./_tcp.ts";
import { startServer } from "./_server.ts";
import { test } from "./_test.ts";

type Fault = "reset" | "truncated-chunked" | "short-length" | "stall";

const HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";

/** Break the body of every response on `socket` the way `fault` says. */
function breakBody(socket: Socket, fault: Fault): void {
  onRequests(socket, () => {
    switch (fault) {
      case "reset":
        socket.write(HEAD + "Content-Length: 1000\r\n\r\n" + "x".repeat(100));
        setTimeout(() => {
          const reset = (socket as { resetAndDestroy?: () => void })
            .resetAndDestroy;
          if (typeof reset === "function") reset.call(socket);
          else socket.destroy();
        }, 20);
        break;
      case "truncated-chunked":
        socket.write(
          HEAD + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        );
        setTimeout(() => socket.end(), 20);
        break;
      case "short-length":
        socket.write(HEAD + "Content-Length: 1000\r\n\r\n0123456789");
        setTimeout(() => socket.end(), 20);
        break;
      case "stall":
        socket.write(HEAD + "Content-Length: 1000\r\n\r\n0123456789");
        break;
    }
  });
}

type Reader = (response: SessionResponse) => Promise<unknown>;

const READERS: Record<string, Reader> = {
  "text()": (response) => response.text(),
  "json()": (response) => response.json(),
  "bytes()": (response) => response.bytes(),
  "body reader": async (response) => {
    const reader = response.body!.getReader();
    for (;;) if ((await reader.read()).done) return;
  },
  "for await": async (response) => {
    // deno-lint-ignore no-empty
    for await (const _ of response.body!) {}
  },
};

function expected(fault: Fault, error: unknown): boolean {
  if (fault === "stall") {
    return error instanceof TimeoutError && error.phase === "bodyIdle";
  }
  return error instanceof NetworkError;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => new Error("expected the body to fail"),
    (error) => error,
  );
}

for (
  const fault of [
    "reset",
    "truncated-chunked",
    "short-length",
    "stall",
  ] as Fault[]
) {
  test(`body errors: ${fault} fails every reader with the library's error`, async () => {
    await using server = await tcpServer((socket) => breakBody(socket, fault));
    await using session = new Session({
      baseUrl: server.url,
      retry: 0,
      timeout: { bodyIdle: 200 },
    });
    for (const [name, read] of Object.entries(READERS)) {
      const error = await failure(session.get(name).then(read));
      assert.ok(expected(fault, error), `${name}: ${error}`);
      assert.equal((error as SessionError).request?.method, "GET");
    }
    const shortcut = await failure(session.get("shortcut").text());
    assert.ok(expected(fault, shortcut), `shortcut: ${shortcut}`);
    // session.fetch() bodies follow fetch: a TypeError, caused by ours.
    for (const read of ["text", "stream"]) {
      const response = await session.fetch(read);
      const error = await failure(
        read === "text"
          ? response.text()
          : new Response(response.body).arrayBuffer(),
      );
      assert.ok(error instanceof TypeError, `fetch ${read}: ${error}`);
      assert.ok(
        expected(fault, (error as Error).cause),
        `fetch ${read} cause: ${(error as Error).cause}`,
      );
    }
    assert.equal(session.pending, 0, "every exchange ended");
  });
}

test("body errors: invalid JSON is a SyntaxError naming the request", async () => {
  await using server = await startServer({
    routes: {
      "/broken": {
        body: "{not json",
        headers: { "content-type": "application/json" },
      },
    },
  });
  await using session = new Session({ baseUrl: server.url });
  for (
    const read of [
      () => session.get("broken").json(),
      async () => await (await session.get("broken")).json(),
    ]
  ) {
    const error = await failure(read());
    assert.ok(error instanceof SyntaxError, String(error));
    assert.match(
      (error as Error).message,
      new RegExp(`GET ${server.url}/broken`),
    );
  }
  // session.fetch() keeps fetch's SyntaxError.
  const fetched = await failure((await session.fetch("broken")).json());
  assert.ok(fetched instanceof SyntaxError, String(fetched));
  assert.equal(session.pending, 0);
});

test("timeout.bodyIdle fires on time on every runtime", async () => {
  await using server = await tcpServer((socket) => breakBody(socket, "stall"));
  await using session = new Session({
    baseUrl: server.url,
    retry: 0,
    timeout: { bodyIdle: 400 },
  });
  const late: number[] = [];
  for (const read of ["shortcut", "reader"]) {
    for (let i = 0; i < 3; i++) {
      const response = await session.get(read);
      const start = performance.now();
      const error = await failure(
        read === "shortcut"
          ? response.text()
          : READERS["body reader"](response),
      );
      const ms = performance.now() - start;
      assert.ok(expected("stall", error), String(error));
      assert.ok(ms >= 395, `fired early, after ${ms} ms`);
      late.push(ms - 400);
    }
  }
  late.sort((a, b) => a - b);
  console.log(`bodyIdle 400 ms fired late by ${late.map(Math.round)} ms`);
  // Timers fire late on a busy machine, never early: the median of six
  // must be within 50 ms (undici's own body timer took about 590 ms more).
  assert.ok(late[2] <= 50, `median lateness ${late[2]} ms`);
});
