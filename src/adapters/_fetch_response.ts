import type { HttpVersion } from "../http2.ts";
import type { AdapterResponse } from "./adapter.ts";
import { hasNoBody } from "../_http.ts";
import { WebResponse } from "./_web_response.ts";

/**
 * How much of an unread body `dump()` drains to keep its connection: at
 * most this many bytes, within this many milliseconds. A bigger or slower
 * body is cancelled, which closes the connection.
 */
export const DUMP_BYTES = 64 * 1024;
/** See {@linkcode DUMP_BYTES}. */
export const DUMP_WAIT = 50;

/** Maps an error of the body to the one its reader gets. */
export type ErrorMapper = (error: unknown) => unknown;

/**
 * Read `reader` to its end if that takes at most {@linkcode DUMP_BYTES}
 * and {@linkcode DUMP_WAIT} ms; `false` when it would take more (the
 * caller then cancels the body).
 */
async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), DUMP_WAIT);
  });
  try {
    for (let read = 0; read <= DUMP_BYTES;) {
      const result = await Promise.race([reader.read(), late]);
      if (result === undefined) return false;
      if (result.done) return true;
      read += result.value.byteLength;
    }
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** `true` when a Content-Length says the body is too big to drain. */
export function tooBigToDrain(contentLength: unknown): boolean {
  return typeof contentLength === "string" &&
    Number(contentLength) > DUMP_BYTES;
}

function discardedError(): TypeError {
  return new TypeError(
    "Cannot read the body as it was discarded before it was read to the end",
  );
}

/**
 * `reader.read()`, failing with undici's body timeout code when no chunk
 * comes within `idle` ms (0: no limit). The body is cancelled then.
 */
function idleRead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idle: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (idle <= 0) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = Object.assign(
        new Error(`No body data for ${idle} ms`),
        { code: "UND_ERR_BODY_TIMEOUT" },
      );
      // Reject first: cancelling settles the pending read at once.
      reject(error);
      reader.cancel(error).catch(() => {});
    }, idle);
  });
  return Promise.race([reader.read(), timeout]).finally(() =>
    clearTimeout(timer)
  );
}

/** Join `chunks` (of `size` bytes in all) into one array. */
export function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * An {@linkcode AdapterResponse} over a WHATWG `Response`, calling `onDone`
 * once when its body is finished.
 */
export class FetchResponse implements AdapterResponse {
  readonly status: number;
  /** Set by adapters that know it (see FetchHooks). */
  httpVersion: HttpVersion | undefined = undefined;
  #response: Response;
  #url: string;
  #onDone: ((error?: unknown) => void) | undefined;
  #idle: number;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // The body went to stream() / to a whole-body reader.
  #streamed = false;
  #taken = false;
  #discarded = false;
  // No body, from the method and status (the runtime's body is not touched).
  #empty: boolean;

  /**
   * `method` lets the constructor tell a null body from the status alone:
   * touching `response.body` would turn the runtime's fast native body into
   * a JavaScript stream (measurably slower `json()` on Deno and Bun). Without
   * it (canned responses), the body is checked directly.
   */
  constructor(
    response: Response,
    url: string,
    onDone: (error?: unknown) => void,
    method?: string,
    bodyIdleTimeout = 0,
  ) {
    this.#response = response;
    this.#idle = bodyIdleTimeout;
    this.status = response.status;
    this.#url = url;
    this.#onDone = onDone;
    this.#empty = method === undefined
      ? response.body === null
      : hasNoBody(method, this.status);
    if (this.#empty) this.#done();
  }

  get statusText(): string {
    return this.#response.statusText;
  }

  get headers(): Headers {
    return this.#response.headers;
  }

  get url(): string {
    return this.#response.url || this.#url;
  }

  #done(error?: unknown): void {
    const onDone = this.#onDone;
    if (onDone) {
      this.#onDone = undefined;
      onDone(error);
    }
  }

  #read<T>(promise: Promise<T>): Promise<T> {
    this.#taken = true;
    return promise.then((value) => {
      this.#done();
      return value;
    }, (error) => {
      this.#done(error);
      throw error;
    });
  }

  // With a body idle limit, whole-body readers go chunk by chunk so that
  // each gap can be timed.
  async #collect(): Promise<Uint8Array> {
    const body = this.#response.body;
    if (body === null) return new Uint8Array(0);
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await idleRead(reader, this.#idle);
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    return concat(chunks, size);
  }

  text(): Promise<string> {
    if (this.#idle > 0) {
      return this.#read(
        this.#collect().then((bytes) => new TextDecoder().decode(bytes)),
      );
    }
    return this.#read(this.#response.text());
  }

  json(): Promise<unknown> {
    if (this.#idle > 0) {
      return this.#read(
        this.#collect().then((bytes) =>
          JSON.parse(new TextDecoder().decode(bytes))
        ),
      );
    }
    return this.#read(this.#response.json());
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#idle > 0) {
      return this.#read(
        this.#collect().then((bytes) =>
          bytes.buffer.slice(
            bytes.byteOffset,
            bytes.byteOffset + bytes.byteLength,
          ) as ArrayBuffer
        ),
      );
    }
    return this.#read(this.#response.arrayBuffer());
  }

  bytes(): Promise<Uint8Array> {
    if (this.#idle > 0) return this.#read(this.#collect());
    return this.#read(
      this.#response.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
    );
  }

  blob(): Promise<Blob> {
    if (this.#idle > 0) {
      const type = this.#response.headers.get("content-type") ?? "";
      return this.#read(
        this.#collect().then((bytes) =>
          new Blob([bytes as Uint8Array<ArrayBuffer>], { type })
        ),
      );
    }
    return this.#read(this.#response.blob());
  }

  stream(mapError?: ErrorMapper): ReadableStream<Uint8Array> | null {
    return this.#stream(undefined, mapError);
  }

  // The body as a stream that tells when it is read, ends or fails. The
  // runtime's body is locked only at the first pull: a WebResponse over
  // this stream reads the runtime's body directly instead, when it can.
  #stream(
    onRead: (() => void) | undefined,
    mapError: ErrorMapper | undefined,
  ): ReadableStream<Uint8Array> | null {
    if (this.#empty) return null;
    this.#streamed = true;
    let started = false;
    const start = () => {
      if (!started) {
        started = true;
        onRead?.();
      }
      return this.#reader ??= this.#bodyReader();
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const reader = start();
        if (this.#discarded) {
          controller.error(discardedError());
          return;
        }
        try {
          const { done, value } = await idleRead(reader, this.#idle);
          if (this.#discarded) {
            controller.error(discardedError());
          } else if (done) {
            controller.close();
            this.#done();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          controller.error(mapError === undefined ? error : mapError(error));
          this.#done(error);
        }
      },
      cancel: async (reason) => {
        try {
          await start().cancel(reason);
        } finally {
          this.#done();
        }
      },
    }, { highWaterMark: 0 });
  }

  // A reader of the runtime's body; an empty one when the runtime has none
  // (a 200 without a body, on some runtimes).
  #bodyReader(): ReadableStreamDefaultReader<Uint8Array> {
    const body = this.#response.body ?? new ReadableStream<Uint8Array>({
      start: (controller) => controller.close(),
    });
    return body.getReader();
  }

  /** `true` once anything read from the body, through any reader. */
  get disturbed(): boolean {
    return this.#taken || this.#reader !== undefined;
  }

  async dump(): Promise<void> {
    if (this.#onDone === undefined) return;
    const body = this.#response.body;
    if (body === null) return this.#done();
    if (this.#streamed && !this.#taken) {
      // stream() handed the body out and nobody finished it: stop it; a
      // reader still waiting gets an error, not a short body.
      this.#discarded = true;
      try {
        await (this.#reader ?? body).cancel();
      } catch {
        // Discarded either way.
      }
      return this.#done();
    }
    // Someone is reading it (text(), json(), ...): that read frees the
    // connection when it ends.
    if (body.locked) return;
    try {
      const reader = body.getReader();
      if (
        tooBigToDrain(this.#response.headers.get("content-length")) ||
        !await drain(reader)
      ) {
        await reader.cancel();
      }
    } catch {
      // The body failed: it is discarded either way.
    } finally {
      this.#done();
    }
  }

  toResponse(onRead?: () => void, mapError?: ErrorMapper): Response {
    return new WebResponse(
      this,
      this.#stream(onRead, mapError),
      onRead,
      mapError,
    );
  }
}
