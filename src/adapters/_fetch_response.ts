import type { AdapterResponse } from "./adapter.ts";

// Bytes read and thrown away by dump() before giving up on the connection.
const DUMP_LIMIT = 256 * 1024;

function discardedError(): TypeError {
  return new TypeError(
    "Cannot read the body as it was discarded before it was read to the end",
  );
}

/** Statuses whose responses never have a body. */
export function isNullBodyStatus(status: number): boolean {
  return status === 101 || status === 204 || status === 205 || status === 304;
}

/**
 * An {@linkcode AdapterResponse} over a WHATWG `Response`, calling `onDone`
 * once when its body is finished.
 */
export class FetchResponse implements AdapterResponse {
  readonly status: number;
  #response: Response;
  #url: string;
  #onDone: (() => void) | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #discarded = false;

  /**
   * `method` lets the constructor tell a null body from the status alone:
   * touching `response.body` would turn the runtime's fast native body into
   * a JavaScript stream (measurably slower `json()` on Deno and Bun). Without
   * it (canned responses), the body is checked directly.
   */
  constructor(
    response: Response,
    url: string,
    onDone: () => void,
    method?: string,
  ) {
    this.#response = response;
    this.status = response.status;
    this.#url = url;
    this.#onDone = onDone;
    if (
      method === undefined
        ? response.body === null
        : method === "HEAD" || isNullBodyStatus(this.status)
    ) {
      this.#done();
    }
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

  #done(): void {
    const onDone = this.#onDone;
    if (onDone) {
      this.#onDone = undefined;
      onDone();
    }
  }

  #read<T>(promise: Promise<T>): Promise<T> {
    return promise.then((value) => {
      this.#done();
      return value;
    }, (error) => {
      this.#done();
      throw error;
    });
  }

  text(): Promise<string> {
    return this.#read(this.#response.text());
  }

  json(): Promise<unknown> {
    return this.#read(this.#response.json());
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read(this.#response.arrayBuffer());
  }

  bytes(): Promise<Uint8Array> {
    return this.#read(
      this.#response.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
    );
  }

  blob(): Promise<Blob> {
    return this.#read(this.#response.blob());
  }

  stream(onRead?: () => void): ReadableStream<Uint8Array> | null {
    const body = this.#response.body;
    if (body === null) return null;
    const reader = body.getReader();
    this.#reader = reader;
    let started = false;
    const start = () => {
      if (!started) {
        started = true;
        onRead?.();
      }
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        start();
        if (this.#discarded) {
          controller.error(discardedError());
          return;
        }
        try {
          const { done, value } = await reader.read();
          if (this.#discarded) {
            controller.error(discardedError());
          } else if (done) {
            controller.close();
            this.#done();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          controller.error(error);
          this.#done();
        }
      },
      cancel: async (reason) => {
        start();
        try {
          await reader.cancel(reason);
        } finally {
          this.#done();
        }
      },
    }, { highWaterMark: 0 });
  }

  async dump(): Promise<void> {
    if (this.#onDone === undefined) return;
    const body = this.#response.body;
    if (body === null) return this.#done();
    if (this.#reader !== undefined) {
      // stream() handed the body out and nobody finished it: stop it; a
      // reader still waiting gets an error, not a short body.
      this.#discarded = true;
      try {
        await this.#reader.cancel();
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
      let read = 0;
      while (read <= DUMP_LIMIT) {
        const { done, value } = await reader.read();
        if (done) return;
        read += value.byteLength;
      }
      await reader.cancel();
    } catch {
      // The body failed: it is discarded either way.
    } finally {
      this.#done();
    }
  }

  toResponse(onRead?: () => void): Response {
    const body = this.stream(onRead);
    const response = new Response(body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
    Object.defineProperty(response, "url", { value: this.url });
    return response;
  }
}
