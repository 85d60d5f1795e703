// What session.fetch() returns on Node: a WHATWG Response whose body
// readers go straight to the adapter's response.
import type { AdapterResponse } from "./adapter.ts";
import type { ErrorMapper } from "./_fetch_response.ts";
import { isNullBodyStatus } from "../_http.ts";

/** The adapter response under it, and whether its body was touched. */
type Raw = AdapterResponse & { readonly disturbed: boolean };

const BODY_USED = "Body is unusable: Body has already been read";

/**
 * What `session.fetch()` returns on Node: a `Response` whose body readers
 * go straight to undici's body (no web stream, no `Headers` built unless
 * asked), which is what makes it faster than `undici.fetch`. `body`,
 * `headers` and `clone()` build the web objects on first use.
 */
export class NodeFetchResponse extends Response {
  #raw: Raw;
  #used = false;
  #teed = false;
  #stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined;

  #onRead: (() => void) | undefined;
  #mapError: ErrorMapper | undefined;

  constructor(
    raw: Raw,
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
