/**
 * A loopback HTTP/1.1 test server that counts TCP connections.
 *
 * Built on `node:http`, so the same helper serves tests on Deno, Node and
 * Bun. It binds 127.0.0.1 only, picks a free port, and tears itself down
 * with `await using` (closing every socket it accepted).
 *
 * Routes are scripted per path: status, headers, body or body size, a delay
 * before the headers, a stall (never answer), a drop (destroy the
 * connection), or a handler function. Any other path answers with an echo of
 * the request as JSON.
 *
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** What a scripted route answers. */
export interface RouteSpec {
  /** Status code. @default 200 */
  status?: number;
  /** Response headers. */
  headers?: Record<string, string | string[]>;
  /** Body: a string, bytes, or a value sent as JSON. */
  body?: string | Uint8Array | unknown;
  /** Send this many bytes of "x" as the body instead of `body`. */
  bodySize?: number;
  /** Wait this many milliseconds before sending the headers. */
  delay?: number;
  /** Send the headers, then wait this many milliseconds before the body. */
  bodyDelay?: number;
  /** Never answer (the connection stays open until the client gives up). */
  stall?: boolean;
  /** Destroy the connection without answering. */
  drop?: boolean;
}

/** A handler function for a route. */
export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  body: Uint8Array,
) => void | Promise<void>;

/** A request the server received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Index of the TCP connection (in accept order) it arrived on. */
  connection: number;
}

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  /** Routes by path name (without the query). */
  routes?: Record<string, RouteSpec | RouteHandler>;
  /** Keep-alive timeout in milliseconds. @default 5_000 */
  keepAliveTimeout?: number;
}

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Origin with the port. */
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly accepted: number;
  /** TCP connections open now. */
  readonly open: number;
  /** Highest number of connections open at once. */
  readonly peakOpen: number;
  /** Requests being handled right now. */
  readonly active: number;
  /** Highest number of requests handled at once. */
  readonly peakActive: number;
  /** Every request received, in order. */
  readonly requests: SeenRequest[];
  /** Add or replace a route. */
  route(path: string, spec: RouteSpec | RouteHandler): void;
  /** Reset the counters (not the open sockets). */
  reset(): void;
  /** Close the server and every socket. */
  close(): Promise<void>;
}

/** Start a loopback test server. */
export async function startServer(
  options: ServerOptions = {},
): Promise<TestServer> {
  const routes = new Map(Object.entries(options.routes ?? {}));
  const sockets = new Set<Socket>();
  const socketIds = new WeakMap<Socket, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let accepted = 0;
  let peakOpen = 0;
  let active = 0;
  let peakActive = 0;
  const requests: SeenRequest[] = [];
  let closed = false;

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    active++;
    peakActive = Math.max(peakActive, active);
    res.on("close", () => active--);
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const body = concat(chunks);
    const url = req.url ?? "/";
    requests.push({
      method: req.method ?? "",
      url,
      headers: { ...req.headers },
      body: new TextDecoder().decode(body),
      connection: socketIds.get(req.socket) ?? -1,
    });
    const path = url.split("?")[0];
    const route = routes.get(path) ?? routes.get("*");
    if (route === undefined) {
      const payload = JSON.stringify({
        method: req.method,
        url,
        headers: req.headers,
        body: new TextDecoder().decode(body),
      });
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
      });
      res.end(payload);
      return;
    }
    if (typeof route === "function") {
      await route(req, res, body);
      return;
    }
    if (route.drop) {
      req.socket.destroy();
      return;
    }
    if (route.stall) return;
    const send = () => {
      if (res.destroyed) return;
      let payload: string | Uint8Array;
      const headers: Record<string, string | string[]> = {
        ...route.headers,
      };
      if (route.bodySize !== undefined) {
        payload = "x".repeat(route.bodySize);
      } else if (
        typeof route.body === "string" || route.body instanceof Uint8Array
      ) {
        payload = route.body;
      } else if (route.body !== undefined) {
        payload = JSON.stringify(route.body);
        headers["content-type"] ??= "application/json";
      } else {
        payload = "";
      }
      headers["content-length"] ??= String(
        typeof payload === "string"
          ? Buffer.byteLength(payload)
          : payload.length,
      );
      res.writeHead(route.status ?? 200, headers);
      if (route.bodyDelay) {
        res.flushHeaders();
        later(route.bodyDelay, () => {
          if (!res.destroyed) res.end(payload);
        });
      } else {
        res.end(payload);
      }
    };
    if (route.delay) later(route.delay, send);
    else send();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeout ?? 5_000;
  server.on("connection", (socket: Socket) => {
    socketIds.set(socket, accepted);
    accepted++;
    sockets.add(socket);
    peakOpen = Math.max(peakOpen, sockets.size);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await done;
    // Let the sockets' close events run so no op is left pending.
    for (let i = 0; i < 100 && sockets.size > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    get peakOpen() {
      return peakOpen;
    },
    get active() {
      return active;
    },
    get peakActive() {
      return peakActive;
    },
    requests,
    route(path, spec) {
      routes.set(path, spec);
    },
    reset() {
      accepted = sockets.size;
      peakOpen = sockets.size;
      peakActive = active;
      requests.length = 0;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
