// NodeAdapter's connections to an origin that may speak HTTP/2 (the
// session's `http2` option): each undici Client carries as many requests
// at once as its protocol allows, 1 over HTTP/1.1 and the server's
// SETTINGS_MAX_CONCURRENT_STREAMS over h2, and a new connection opens only
// when those are in use. Until the first connection tells what the origin
// speaks, other requests wait for it rather than each opening its own.
import type { Client } from "undici";
import type { HttpVersion } from "../http2.ts";

// The most streams one connection carries, whatever the server allows.
const MAX_STREAMS = 1_000;

/** One undici Client (one TCP connection) of a {@linkcode SharedOrigin}. */
export class SharedConnection {
  readonly client: Client;
  /** Requests running on it. */
  active = 0;
  /** Requests it may run at once. */
  capacity: number;
  /** Its protocol, once connected. */
  version: HttpVersion | undefined = undefined;
  /** The server sent it away (GOAWAY) or it closed: no new requests. */
  gone = false;
  #onConnect: (() => void)[] | undefined = [];
  #idle: ReturnType<typeof setTimeout> | undefined;

  constructor(client: Client, capacity: number) {
    this.client = client;
    this.capacity = capacity;
  }

  get usable(): boolean {
    return !this.gone && !this.client.closed && !this.client.destroyed;
  }

  /** Call `onConnect` once it is connected (now, if it is). */
  whenConnected(onConnect: () => void): void {
    const waiting = this.#onConnect;
    if (waiting === undefined) onConnect();
    else waiting.push(onConnect);
  }

  /** It connected: tell the requests that wait for it. */
  connected(version: HttpVersion): void {
    this.version = version;
    const waiting = this.#onConnect;
    this.#onConnect = undefined;
    if (waiting !== undefined) { for (const onConnect of waiting) onConnect(); }
  }

  /** Streams it may carry, from the server's SETTINGS. */
  allow(streams: number | undefined): number {
    const capacity = Math.max(1, Math.min(streams ?? 100, MAX_STREAMS));
    this.capacity = capacity;
    this.client.pipelining = capacity;
    return capacity;
  }

  /** A request starts on it. */
  take(): void {
    this.active++;
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  /**
   * A request on it is done. An idle h2 connection closes after `idleMs`
   * (undici times idle HTTP/1.1 sockets itself, not h2 sessions).
   */
  release(idleMs: number, onIdle: () => void): void {
    this.active--;
    if (this.active > 0 || this.version !== "2" || !this.usable) return;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.active === 0) onIdle();
    }, idleMs);
    // Deno's and Node's timers both have unref(); an idle connection never
    // keeps the process alive.
    (this.#idle as { unref?: () => void }).unref?.();
  }

  /** Stop its idle timer (it is being closed). */
  forget(): void {
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#idle = undefined;
  }
}

type Waiter = [resolve: () => void, reject: (error: unknown) => void];

/** The connections of one origin, and what it speaks once known. */
export class SharedOrigin {
  readonly connections: SharedConnection[] = [];
  /** What the origin speaks, once a connection told. */
  version: HttpVersion | undefined = undefined;
  /** Streams per h2 connection, from the server's last SETTINGS. */
  streams = 1;
  #waiting: Waiter[] = [];

  /** A connection with room for one more request. */
  free(): SharedConnection | undefined {
    for (const connection of this.connections) {
      if (connection.active < connection.capacity && connection.usable) {
        return connection;
      }
    }
    return undefined;
  }

  /** The first connection is still finding out what the origin speaks. */
  get undecided(): boolean {
    return this.version === undefined && this.connections.length > 0;
  }

  /**
   * Resolves once the origin's protocol is known (rejects when its connect
   * failed). `request` can be aborted while it waits (its timeouts and
   * signal reach it through `abortTransport`).
   */
  decided(
    request: { abortTransport?: (reason: unknown) => void },
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = [resolve, reject];
      this.#waiting.push(waiter);
      request.abortTransport = (reason) => {
        const index = this.#waiting.indexOf(waiter);
        if (index !== -1) this.#waiting.splice(index, 1);
        reject(reason);
      };
    });
  }

  /** `connection` told what the origin speaks. */
  learn(version: HttpVersion, streams: number): void {
    this.version = version;
    if (version === "2") this.streams = streams;
    this.#wake(undefined);
  }

  /**
   * `connection` failed to connect, or went away before it told what the
   * origin speaks: so do the requests that waited for it.
   */
  failed(connection: SharedConnection, error: unknown): void {
    this.remove(connection);
    if (this.version === undefined) {
      this.#wake(error ?? new Error("connect failed"));
    }
  }

  remove(connection: SharedConnection): void {
    connection.gone = true;
    connection.forget();
    const index = this.connections.indexOf(connection);
    if (index !== -1) this.connections.splice(index, 1);
  }

  #wake(error: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [resolve, reject] of waiting) {
      if (error === undefined) resolve();
      else reject(error);
    }
  }
}

/** What undici's h2 session gives: Node's `ClientHttp2Session`, in part. */
interface H2Session {
  once(
    event: "remoteSettings",
    listener: (settings: { maxConcurrentStreams?: number }) => void,
  ): void;
}

let sessionSymbol: symbol | undefined;

/**
 * The h2 session of a connected undici Client, or `undefined` over
 * HTTP/1.1. undici keeps it under a symbol of its own ("http2Session"),
 * found once by its description: undici 7 has no public way to tell.
 */
export function h2SessionOf(client: Client): H2Session | undefined {
  if (sessionSymbol === undefined) {
    sessionSymbol = Object.getOwnPropertySymbols(client).find((symbol) =>
      symbol.description === "http2Session"
    );
    if (sessionSymbol === undefined) return undefined;
  }
  const session = (client as unknown as Record<symbol, unknown>)[sessionSymbol];
  return session ? session as H2Session : undefined;
}
