// What NodeAdapter's requests resolve to: UndiciResponse, a light object
// with the Response surface over undici's body, and NodeFetchResponse, the
// WHATWG Response session.fetch() gets on Node.
import type { Dispatcher } from "undici";
import type { Readable } from "node:stream";
import type { AdapterRequest, AdapterResponse } from "./adapter.ts";
import {
  concat,
  DUMP_BYTES,
  DUMP_WAIT,
  type ErrorMapper,
  idleRead,
  tooBigToDrain,
} from "./_fetch_response.ts";
import { collect, decoderFor, streams } from "./_decode.ts";
import { hasNoBody, isNullBodyStatus } from "../_http.ts";
import { statusText as reasonPhrase } from "../_status.ts";

type BodyReadable = Dispatcher.ResponseData["body"];

export class UndiciResponse implements AdapterResponse {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  #rawHeaders: Record<string, string | string[] | undefined>;
  #headers: Headers | undefined;
  #body: BodyReadable;
  // The decoded body, for a compressed response.
  #decoded: Readable | undefined;
  // The longest gap between chunks while reading (0: none).
  #idle: number;

  constructor(
    data: Dispatcher.ResponseData,
    request: AdapterRequest,
    release: () => void,
  ) {
    this.status = data.statusCode;
    this.statusText = (data as { statusText?: string }).statusText ||
      reasonPhrase(data.statusCode);
    this.url = request.url;
    this.#rawHeaders = data.headers;
    this.#idle = request.bodyIdleTimeout ?? 0;
    const body = data.body;
    this.#body = body;
    // "end" (read to the end) comes before "close" and before the reader's
    // promise resolves, so the next request finds this connection free.
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      release();
      request.onDone((body as { errored?: unknown }).errored ?? undefined);
    };
    body.once("end", finish);
    body.once("close", finish);
    if (hasNoBody(request.method, this.status)) {
      body.dump().catch(() => {});
    } else if (data.headers["content-encoding"] !== undefined) {
      const decoder = decoderFor(String(data.headers["content-encoding"]));
      if (decoder !== undefined) {
        this.#decoded = decoder;
        streams!.pipeline(body, decoder, () => {});
      }
    }
  }

  getSetCookie(): string[] {
    const value = this.#rawHeaders["set-cookie"];
    return value === undefined
      ? []
      : typeof value === "string"
      ? [value]
      : value;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#rawHeaders;
      for (const name in raw) {
        const value = raw[name];
        if (value === undefined) continue;
        if (typeof value === "string") headers.append(name, value);
        else for (const item of value) headers.append(name, item);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** `true` once anything read from the body (its web stream included). */
  get disturbed(): boolean {
    return (this.#body as { bodyUsed?: boolean }).bodyUsed === true;
  }

  // undici's body mixin reads fastest; a compressed body, or one whose
  // gaps are timed, is read chunk by chunk.
  #direct(): boolean {
    return this.#decoded === undefined && this.#idle === 0;
  }

  text(): Promise<string> {
    if (this.#direct()) return this.#body.text();
    return this.bytes().then((bytes) => new TextDecoder().decode(bytes));
  }

  json(): Promise<unknown> {
    if (this.#direct()) return this.#body.json();
    return this.text().then(JSON.parse);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#direct()) return this.#body.arrayBuffer();
    return this.bytes().then((bytes) =>
      bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer
    );
  }

  bytes(): Promise<Uint8Array> {
    if (this.#idle > 0) return this.#collectTimed();
    if (this.#decoded !== undefined) return collect(this.#decoded);
    const body = this.#body as BodyReadable & {
      bytes?: () => Promise<Uint8Array>;
    };
    if (typeof body.bytes === "function") return body.bytes();
    return body.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  blob(): Promise<Blob> {
    if (this.#direct()) {
      return this.#body.blob() as unknown as Promise<Blob>;
    }
    const type = this.headers.get("content-type") ?? "";
    return this.bytes().then((bytes) =>
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type })
    );
  }

  /** The (decoded) body as a web stream. */
  #source(): ReadableStream<Uint8Array> {
    return (this.#decoded !== undefined
      ? streams!.Readable.toWeb(this.#decoded)
      : this.#body.body) as unknown as ReadableStream<Uint8Array>;
  }

  // Whole-body read with each gap timed by the response's own timer.
  async #collectTimed(): Promise<Uint8Array> {
    const reader = this.#source().getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await idleRead(reader, this.#idle);
        if (done) return concat(chunks, size);
        chunks.push(value);
        size += value.byteLength;
      }
    } catch (error) {
      await this.#destroy();
      throw error;
    }
  }

  // Cancelling undici's web stream does not end the response: destroying
  // the body closes its connection and ends the exchange (once the body's
  // "close" event ran, which this waits for).
  #destroy(): Promise<void> {
    const body = this.#body;
    this.#decoded?.destroy();
    if (body.closed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => body.once("close", resolve));
    if (!body.destroyed) {
      body.on("error", () => {});
      body.destroy();
    }
    return closed;
  }

  stream(mapError?: ErrorMapper): ReadableStream<Uint8Array> | null {
    const body = this.#body;
    if (
      this.#decoded === undefined && body.readableEnded &&
      body.readableLength === 0
    ) {
      return null;
    }
    const reader = this.#source().getReader();
    const idle = this.#idle;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const { done, value } = await idleRead(reader, idle);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          await this.#destroy();
          controller.error(mapError === undefined ? error : mapError(error));
        }
      },
      cancel: (reason) => {
        const cancelled = reader.cancel(reason).catch(() => {});
        this.#destroy();
        return cancelled;
      },
    }, { highWaterMark: 0 });
  }

  dump(): Promise<void> {
    const body = this.#body;
    if (body.destroyed || body.readableEnded) return Promise.resolve();
    if (tooBigToDrain(this.#rawHeaders["content-length"])) {
      this.#destroy();
      return Promise.resolve();
    }
    // Drain what comes at once; a slow or long rest closes the connection.
    const timer = setTimeout(() => this.#destroy(), DUMP_WAIT);
    return body.dump({ limit: DUMP_BYTES }).then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  }

  toResponse(onRead?: () => void, mapError?: ErrorMapper): Response {
    return new NodeFetchResponse(this, onRead, mapError);
  }
}

const BODY_USED = "Body is unusable: Body has already been read";

/**
 * What `session.fetch()` returns on Node: a `Response` whose body readers
 * go straight to undici's body (no web stream, no `Headers` built unless
 * asked), which is what makes it faster than `undici.fetch`. `body`,
 * `headers` and `clone()` build the web objects on first use.
 */
class NodeFetchResponse extends Response {
  #raw: UndiciResponse;
  #used = false;
  #teed = false;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined;

  #onRead: (() => void) | undefined;
  #mapError: ErrorMapper | undefined;

  constructor(
    raw: UndiciResponse,
    onRead?: () => void,
    mapError?: ErrorMapper,
  ) {
    super(null, { status: raw.status, statusText: raw.statusText });
    this.#raw = raw;
    this.#onRead = onRead;
    this.#mapError = mapError;
    if (isNullBodyStatus(raw.status)) {
      raw.dump();
      this.#stream = null;
    }
  }

  override get headers(): Headers {
    return this.#raw.headers;
  }

  override get url(): string {
    return this.#raw.url;
  }

  #started(): void {
    const onRead = this.#onRead;
    if (onRead !== undefined) {
      this.#onRead = undefined;
      onRead();
    }
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    this.#started();
    if (this.#stream === undefined) {
      this.#stream = this.#raw.stream(this.#mapError) as
        | ReadableStream<Uint8Array<ArrayBuffer>>
        | null;
    }
    return this.#stream;
  }

  override get bodyUsed(): boolean {
    if (this.#used) return true;
    // After clone(), the body is one branch of a tee of undici's stream.
    if (this.#teed) return this.#stream?.locked ?? false;
    return this.#raw.disturbed || (this.#stream?.locked ?? false);
  }

  #read<T>(read: () => Promise<T>): Promise<T> {
    if (this.#used) return Promise.reject(new TypeError(BODY_USED));
    this.#used = true;
    this.#started();
    const mapError = this.#mapError;
    if (mapError === undefined) return read();
    return read().catch((error) => {
      throw mapError(error);
    });
  }

  override json(): Promise<unknown> {
    if (this.#stream !== undefined) return this.#viaStream("json");
    return this.#read(() => this.#raw.json());
  }

  override text(): Promise<string> {
    if (this.#stream !== undefined) return this.#viaStream("text");
    return this.#read(() => this.#raw.text());
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#stream !== undefined) return this.#viaStream("arrayBuffer");
    return this.#read(() => this.#raw.arrayBuffer());
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#stream !== undefined) return this.#viaStream("bytes");
    return this.#read(() =>
      this.#raw.bytes() as Promise<Uint8Array<ArrayBuffer>>
    );
  }

  override blob(): Promise<Blob> {
    if (this.#stream !== undefined) return this.#viaStream("blob");
    return this.#read(() => this.#raw.blob());
  }

  override formData(): Promise<FormData> {
    return this.#viaStream("formData");
  }

  override clone(): Response {
    if (this.bodyUsed) {
      throw new TypeError("Response.clone: Body has already been consumed.");
    }
    const body = this.body;
    let copy: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
    if (body !== null) {
      const [mine, theirs] = body.tee();
      this.#stream = mine;
      this.#teed = true;
      copy = theirs;
    }
    const clone = new Response(copy, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    Object.defineProperty(clone, "url", { value: this.url });
    return clone;
  }

  // Read through a real Response over the web stream (after `body` or
  // `clone()` was used, or for formData).
  #viaStream<
    K extends "json" | "text" | "arrayBuffer" | "bytes" | "blob" | "formData",
  >(
    kind: K,
  ): ReturnType<Response[K]> {
    if (this.bodyUsed) {
      return Promise.reject(new TypeError(BODY_USED)) as ReturnType<
        Response[K]
      >;
    }
    const body = this.body;
    this.#used = true;
    const native = new Response(body, { headers: this.headers });
    return (native[kind] as () => ReturnType<Response[K]>).call(native);
  }
}
