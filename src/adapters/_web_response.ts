// What session.fetch() returns on Deno and Bun: a real Response whose body
// is the adapter's tracking stream (so a server that takes the Response,
// Deno.serve or Bun.serve, streams it), and whose whole-body readers go
// straight to the runtime's own response, which is much faster than
// reading a JavaScript stream.
import type { AdapterResponse } from "./adapter.ts";

/** Maps an error of the body to the one its reader gets. */
type ErrorMapper = (error: unknown) => unknown;

/** The adapter response under it, and whether its body was touched. */
type Raw = AdapterResponse & { readonly disturbed: boolean };

export class WebResponse extends Response {
  #raw: Raw;
  #onRead: (() => void) | undefined;
  #mapError: ErrorMapper | undefined;
  #used = false;
  #cloned = false;

  constructor(
    raw: Raw,
    body: ReadableStream<Uint8Array> | null,
    onRead?: () => void,
    mapError?: ErrorMapper,
  ) {
    super(body, {
      status: raw.status,
      statusText: raw.statusText,
      headers: raw.headers,
    });
    this.#raw = raw;
    this.#onRead = onRead;
    this.#mapError = mapError;
  }

  override get url(): string {
    return this.#raw.url;
  }

  override get bodyUsed(): boolean {
    return this.#used || super.bodyUsed;
  }

  override clone(): Response {
    // From now on the body is a branch of a tee of the stream: read it so.
    this.#cloned = true;
    return super.clone();
  }

  // The runtime's response read directly, unless the stream was touched
  // (or teed), in which case the body is read as a stream, as Response does.
  #direct(): boolean {
    return !this.#cloned && !this.#raw.disturbed && !this.bodyUsed;
  }

  #read<T>(read: (raw: Raw) => Promise<T>): Promise<T> {
    this.#used = true;
    this.#onRead?.();
    const mapError = this.#mapError;
    const reading = read(this.#raw);
    if (mapError === undefined) return reading;
    return reading.then(undefined, (error) => {
      throw mapError(error);
    });
  }

  override json(): Promise<unknown> {
    return this.#direct() ? this.#read(READ_JSON) : super.json();
  }

  override text(): Promise<string> {
    return this.#direct() ? this.#read(READ_TEXT) : super.text();
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#direct() ? this.#read(READ_ARRAY_BUFFER) : super.arrayBuffer();
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#direct()
      ? this.#read(READ_BYTES) as Promise<Uint8Array<ArrayBuffer>>
      : super.bytes();
  }

  override blob(): Promise<Blob> {
    return this.#direct() ? this.#read(READ_BLOB) : super.blob();
  }
}

const READ_JSON = (raw: Raw) => raw.json();
const READ_TEXT = (raw: Raw) => raw.text();
const READ_ARRAY_BUFFER = (raw: Raw) => raw.arrayBuffer();
const READ_BYTES = (raw: Raw) => raw.bytes();
const READ_BLOB = (raw: Raw) => raw.blob();
