// What NodeAdapter's requests resolve to: UndiciResponse, the handler of
// an undici dispatch and the light object with the Response surface over
// its body (session.fetch() gets a NodeFetchResponse over it). Driving undici's dispatch() directly, not request(), spares a
// Readable stream per response: about a third of the transport's cost.
import type { Transform } from "node:stream";
import type { AdapterRequest, AdapterResponse } from "./adapter.ts";
import {
  concat,
  DUMP_BYTES,
  DUMP_WAIT,
  type ErrorMapper,
  tooBigToDrain,
} from "./_fetch_response.ts";
import { decoderFor } from "./_decode.ts";
import { NodeFetchResponse } from "./_node_fetch_response.ts";
import { hasNoBody, isNullBodyStatus } from "../_http.ts";
import type { HttpVersion } from "../http2.ts";
import { statusText as reasonPhrase } from "../_status.ts";

// Bytes held unread before the socket is paused (undici's own default).
const HIGH_WATER = 64 * 1024;

type Resolvers = [
  resolve: (response: AdapterResponse) => void,
  reject: (error: unknown) => void,
];

/** A body read as a whole: resolved at the end with its bytes. */
interface WholeRead {
  resolve: (bytes: Uint8Array) => void;
  reject: (error: unknown) => void;
}

function bodyTimeout(idle: number): Error {
  return Object.assign(new Error(`No body data for ${idle} ms`), {
    code: "UND_ERR_BODY_TIMEOUT",
  });
}

/**
 * One request on undici: the handler its dispatch() calls, and, once the
 * headers arrived, the adapter's response. The body is queued as it comes
 * (the socket pauses past {@linkcode HIGH_WATER} unread bytes) and read as
 * a whole or as a stream.
 */
export class UndiciResponse implements AdapterResponse {
  status = 0;
  statusText = "";
  readonly url: string;
  /** Set by NodeAdapter on connections that may speak h2. */
  httpVersion: HttpVersion | undefined = undefined;
  #request: AdapterRequest;
  #release: () => void;
  #settle: Resolvers | undefined;
  #rawHeaders: Buffer[] = [];
  #headers: Headers | undefined;
  #resume: (() => void) | undefined;
  #abort: ((reason?: unknown) => void) | undefined;
  #decoder: Transform | undefined;
  // The body: chunks not yet read, and how it ended.
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  #error: unknown = undefined;
  #done = false;
  #reported = false;
  // Discarded on purpose: its end is no failure (see #discard).
  #quiet = false;
  // undici delivered the whole message (it may still be decoding).
  #received = false;
  // Its reader: a whole read, a stream's pending pull, or a discard.
  #whole: WholeRead | undefined;
  #wake: (() => void) | undefined;
  #discarding = false;
  #used = false;
  #idle: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #aborted: unknown = undefined;

  #cancel: ((reason: unknown) => void) | undefined;

  /**
   * `release` gives the connection back; `cancel`, if given, closes it
   * when the request is aborted before undici started it (a connection
   * still being made).
   */
  constructor(
    request: AdapterRequest,
    release: () => void,
    settle: Resolvers,
    cancel?: (reason: unknown) => void,
  ) {
    this.url = request.url;
    this.#request = request;
    this.#release = release;
    this.#settle = settle;
    this.#cancel = cancel;
    this.#idle = request.bodyIdleTimeout ?? 0;
  }

  // --- the dispatch handler (undici's calls) ----------------------------

  onConnect(abort: (reason?: unknown) => void): void {
    this.#abort = abort;
    if (this.#aborted !== undefined) abort(this.#aborted);
  }

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText?: string,
  ): boolean {
    if (statusCode < 200) return true; // 1xx: informational
    const settle = this.#settle;
    if (settle === undefined) return false; // aborted before the headers
    this.#settle = undefined;
    this.status = statusCode;
    this.statusText = statusText || reasonPhrase(statusCode);
    this.#rawHeaders = rawHeaders;
    this.#resume = resume;
    const encoding = this.#header("content-encoding");
    if (
      encoding !== undefined && this.#request.method !== "HEAD" &&
      !isNullBodyStatus(statusCode)
    ) {
      this.#decode(encoding);
    }
    settle[0](this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#discarding) return this.#discarded(chunk.byteLength);
    if (this.#decoder !== undefined) {
      return this.#decoder.write(chunk) && !this.#paused;
    }
    this.#push(chunk);
    return !this.#paused;
  }

  onComplete(): void {
    this.#received = true;
    if (this.#decoder !== undefined) this.#decoder.end();
    else this.#end();
  }

  onError(error: Error): void {
    const settle = this.#settle;
    if (settle !== undefined) {
      // No headers yet: the request failed (the session ends its exchange).
      this.#settle = undefined;
      this.#free();
      settle[1](error);
      return;
    }
    this.#decoder?.destroy();
    this.#fail(error);
  }

  // --- the body queue ---------------------------------------------------

  #decode(encoding: string): void {
    const decoder = decoderFor(encoding);
    if (decoder === undefined) return;
    this.#decoder = decoder;
    decoder.on("data", (chunk: Uint8Array) => this.#push(chunk));
    decoder.on("end", () => this.#end());
    decoder.on("error", (error: unknown) => this.#fail(error));
    decoder.on("drain", () => {
      if (!this.#paused) this.#resume?.();
    });
  }

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#queued += chunk.byteLength;
    if (this.#whole === undefined && this.#queued > HIGH_WATER) {
      this.#paused = true;
    }
    this.#touch();
  }

  // All of the body is here: the connection goes back to the pool now;
  // the session hears of it once someone took the body.
  #end(): void {
    this.#ended = true;
    this.#free();
    const whole = this.#whole;
    if (whole !== undefined) {
      this.#whole = undefined;
      whole.resolve(this.#take());
      this.#report(undefined);
    } else if (hasNoBody(this.#request.method, this.status)) {
      this.#report(undefined); // HEAD, 204, 304: nothing to wait for
    }
    this.#touch();
  }

  #fail(error: unknown): void {
    if (this.#ended || this.#error !== undefined) return;
    this.#error = error;
    this.#free();
    this.#report(error);
    const whole = this.#whole;
    if (whole !== undefined) {
      this.#whole = undefined;
      whole.reject(error);
    }
    this.#touch();
  }

  #free(): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopIdle();
    this.#release();
  }

  // The body was taken, discarded or failed: the session's exchange ends.
  #report(error: unknown): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#request.onDone(this.#quiet ? undefined : error);
  }

  // Data or the end arrived: wake a waiting pull, time the next gap.
  #touch(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
    if (this.#idleTimer !== undefined) this.#armIdle();
  }

  #take(): Uint8Array {
    const bytes = concat(this.#chunks, this.#queued);
    this.#chunks = [];
    this.#queued = 0;
    return bytes;
  }

  // The longest gap between chunks while someone reads (0: none).
  #armIdle(): void {
    this.#stopIdle();
    if (this.#idle > 0 && !this.#done) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = undefined;
        this.abort(bodyTimeout(this.#idle));
      }, this.#idle);
    }
  }

  #stopIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** `abort()` was called before the body was all here. */
  get aborted(): boolean {
    return this.#aborted !== undefined;
  }

  /** Abort the request, whatever its phase: its connection is closed. */
  abort(reason: unknown): void {
    if (this.#ended) {
      // All here already: discard what nobody took; a later read fails.
      this.#chunks = [];
      this.#queued = 0;
      this.#error ??= reason;
      this.#report(undefined);
      return;
    }
    if (this.#aborted !== undefined || this.#error !== undefined) return;
    this.#aborted = reason;
    if (this.#decoder !== undefined) this.#decoder.destroy();
    // undici is done with it: only the decoding is left to stop.
    if (this.#received) return this.#fail(reason);
    if (this.#abort !== undefined) return this.#abort(reason);
    // Not started: close a connection still being made (undici is told at
    // onConnect otherwise), and fail now.
    this.#cancel?.(reason);
    this.onError(reason as Error);
  }

  #header(name: string): string | undefined {
    const raw = this.#rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i];
      if (
        key.length === name.length &&
        key.toString("latin1").toLowerCase() === name
      ) {
        return raw[i + 1].toString("latin1");
      }
    }
    return undefined;
  }

  // --- the AdapterResponse ----------------------------------------------

  header(name: string): string | null {
    return this.#header(name) ?? null;
  }

  getSetCookie(): string[] {
    const raw = this.#rawHeaders;
    const values: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const key = raw[i];
      if (
        key.length === 10 &&
        key.toString("latin1").toLowerCase() === "set-cookie"
      ) {
        values.push(raw[i + 1].toString("latin1"));
      }
    }
    return values;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        headers.append(
          raw[i].toString("latin1"),
          raw[i + 1].toString("latin1"),
        );
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** `true` once anything read from the body (its stream included). */
  get disturbed(): boolean {
    return this.#used;
  }

  /** The whole (decoded) body. */
  bytes(): Promise<Uint8Array> {
    this.#used = true;
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) {
      this.#report(undefined);
      return Promise.resolve(this.#take());
    }
    if (this.#paused) {
      this.#paused = false;
      this.#resume?.();
    }
    if (this.#idle > 0) this.#armIdle();
    return new Promise((resolve, reject) => {
      this.#whole = { resolve, reject };
    });
  }

  text(): Promise<string> {
    return this.bytes().then(utf8);
  }

  json(): Promise<unknown> {
    return this.bytes().then(parseJson);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.bytes().then((bytes) =>
      bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer
    );
  }

  blob(): Promise<Blob> {
    const type = this.headers.get("content-type") ?? "";
    return this.bytes().then((bytes) =>
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type })
    );
  }

  stream(mapError?: ErrorMapper): ReadableStream<Uint8Array> | null {
    if (this.#ended && this.#queued === 0 && this.#error === undefined) {
      this.#report(undefined);
      return null;
    }
    this.#used = true;
    return new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller, mapError),
      cancel: (reason) => {
        this.#discard(reason ?? new Error("The body was cancelled"));
      },
    }, { highWaterMark: 0 });
  }

  async #pull(
    controller: ReadableStreamDefaultController<Uint8Array>,
    mapError: ErrorMapper | undefined,
  ): Promise<void> {
    while (
      this.#chunks.length === 0 && !this.#ended && this.#error === undefined
    ) {
      if (this.#idle > 0) this.#armIdle();
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    this.#stopIdle();
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#queued -= chunk.byteLength;
      controller.enqueue(chunk);
      if (this.#paused && this.#queued <= HIGH_WATER) {
        this.#paused = false;
        this.#resume?.();
      }
    } else if (this.#error !== undefined) {
      controller.error(
        mapError === undefined ? this.#error : mapError(this.#error),
      );
    } else {
      controller.close();
      this.#report(undefined);
    }
  }

  /**
   * Discard the body: a small rest that comes at once is drained to keep
   * the connection; otherwise the connection is closed.
   */
  dump(): Promise<void> {
    this.#used = true;
    this.#chunks = [];
    this.#queued = 0;
    if (this.#done) {
      this.#report(undefined);
      return Promise.resolve();
    }
    if (tooBigToDrain(this.#header("content-length"))) {
      this.#discard(new Error("The body was discarded"));
      return Promise.resolve();
    }
    this.#discarding = true;
    if (this.#paused) {
      this.#paused = false;
      this.#resume?.();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#discard(new Error("The body was discarded"));
        resolve();
      }, DUMP_WAIT);
      this.#whole = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: () => (clearTimeout(timer), resolve()),
      };
    });
  }

  #discardedBytes = 0;

  #discarded(size: number): boolean {
    this.#discardedBytes += size;
    if (this.#discardedBytes > DUMP_BYTES) {
      this.#discard(new Error("The body was discarded"));
    }
    return true;
  }

  // Dropped on purpose (dumped, cancelled): the connection closes, and the
  // session hears of a body that ended, not of one that failed.
  #discard(reason: Error): void {
    this.#quiet = true;
    this.abort(reason);
    this.#report(undefined);
  }

  toResponse(onRead?: () => void, mapError?: ErrorMapper): Response {
    return new NodeFetchResponse(this, onRead, mapError);
  }
}

const decoder = new TextDecoder();

/** UTF-8 text, without a byte order mark (as fetch's text()). */
function utf8(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(utf8(bytes));
}
