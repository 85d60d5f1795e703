/**
 * Counting bodies: `maxResponseSize` and download progress on responses,
 * upload progress on request bodies.
 *
 * @module
 */
import type { AdapterBody, AdapterResponse } from "./adapters/adapter.ts";
import { FetchResponse } from "./adapters/_fetch_response.ts";
import { ResponseSizeError } from "./errors.ts";
import type { RequestInfo } from "./request_info.ts";
import type { ProgressCallback } from "./network.ts";
import { hasNoBody } from "./_http.ts";
import { checkCount, checkFunction } from "./_checks.ts";

const encoder = new TextEncoder();
// Upload chunks: small enough for steady progress, big enough to be cheap.
const UPLOAD_CHUNK = 64 * 1024;

/** The checked `maxResponseSize` and progress options. */
export interface BodyOptions {
  /** Largest decoded response body in bytes; 0: no limit. */
  readonly maxResponseSize: number;
  readonly onDownloadProgress: ProgressCallback | undefined;
  readonly onUploadProgress: ProgressCallback | undefined;
}

export const DEFAULT_BODY_OPTIONS: BodyOptions = Object.freeze({
  maxResponseSize: 0,
  onDownloadProgress: undefined,
  onUploadProgress: undefined,
});

/** The body options of session or request `options` over `base`. */
export function parseBodyOptions(
  options: {
    maxResponseSize?: unknown;
    onDownloadProgress?: unknown;
    onUploadProgress?: unknown;
  },
  base: BodyOptions,
  action: string,
): BodyOptions {
  const { maxResponseSize, onDownloadProgress, onUploadProgress } = options;
  if (
    maxResponseSize === undefined && onDownloadProgress === undefined &&
    onUploadProgress === undefined
  ) {
    return base;
  }
  return {
    maxResponseSize: maxResponseSize === undefined
      ? base.maxResponseSize
      : maxResponseSize === Infinity
      ? 0
      : checkCount("maxResponseSize", maxResponseSize, action),
    onDownloadProgress: onDownloadProgress === undefined
      ? base.onDownloadProgress
      : checkFunction("onDownloadProgress", onDownloadProgress, action),
    onUploadProgress: onUploadProgress === undefined
      ? base.onUploadProgress
      : checkFunction("onUploadProgress", onUploadProgress, action),
  };
}

/** `true` when reading a response needs {@linkcode meter}. */
export function metersDownload(options: BodyOptions): boolean {
  return options.maxResponseSize > 0 ||
    options.onDownloadProgress !== undefined;
}

/**
 * `raw` with its body counted: progress after each chunk, and an error
 * once the decoded body passes `maxResponseSize`.
 *
 * @throws {ResponseSizeError} at once (discarding the body) when an
 * uncompressed body's Content-Length is already over the limit.
 */
export function meter(
  raw: AdapterResponse,
  request: RequestInfo,
  options: {
    maxResponseSize: number;
    onDownloadProgress: ProgressCallback | undefined;
  },
): AdapterResponse {
  if (hasNoBody(request.method, raw.status)) return raw;
  const limit = options.maxResponseSize;
  const progress = options.onDownloadProgress;
  const headers = raw.headers;
  const encoded = (headers.get("content-encoding") ?? "identity") !==
    "identity";
  const length = Number(headers.get("content-length") ?? NaN);
  const total = !encoded && Number.isSafeInteger(length) && length >= 0
    ? length
    : undefined;
  if (limit > 0 && total !== undefined && total > limit) {
    raw.dump().catch(() => {});
    throw new ResponseSizeError(limit, total, { request });
  }
  const source = raw.stream();
  if (source === null) return raw;
  const body = counted(source.getReader(), limit, total, progress, request);
  return new FetchResponse(
    new Response(body, {
      status: raw.status,
      statusText: raw.statusText,
      headers,
    }),
    raw.url,
    () => {},
    request.method,
  );
}

/** `reader`'s chunks, counted: progress after each, the size limit. */
function counted(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  total: number | undefined,
  progress: ProgressCallback | undefined,
  request: RequestInfo,
): ReadableStream<Uint8Array> {
  let loaded = 0;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start() {
      progress?.({ loaded: 0, total });
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        controller.error(error);
        return;
      }
      if (chunk.done) {
        finished = true;
        controller.close();
        return;
      }
      loaded += chunk.value.byteLength;
      if (limit > 0 && loaded > limit) {
        const error = new ResponseSizeError(limit, loaded, { request });
        controller.error(error);
        reader.cancel(error).catch(() => {});
        return;
      }
      controller.enqueue(chunk.value);
      progress?.({ loaded, total });
    },
    cancel(reason) {
      return finished ? undefined : reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * A request body that reports progress as the transport pulls it, in
 * chunks of at most 64 KiB, and the headers it needs (its length, when
 * known, so it is not sent chunked).
 */
export function meterUpload(
  body: Exclude<AdapterBody, null>,
  contentLength: string | undefined,
  progress: ProgressCallback,
): { body: ReadableStream<Uint8Array>; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  let bytes: Uint8Array | undefined;
  let total: number | undefined;
  if (typeof body === "string") bytes = encoder.encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  if (bytes !== undefined) {
    total = bytes.byteLength;
    headers["content-length"] = String(total);
  } else if (contentLength !== undefined && /^\d+$/.test(contentLength)) {
    total = Number(contentLength);
  }
  let loaded = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start() {
      progress({ loaded: 0, total });
    },
    async pull(controller) {
      let chunk: Uint8Array;
      if (bytes !== undefined) {
        if (loaded >= bytes.byteLength) {
          controller.close();
          return;
        }
        chunk = bytes.subarray(loaded, loaded + UPLOAD_CHUNK);
      } else {
        reader ??= (body as ReadableStream<Uint8Array>).getReader();
        const next = await reader.read();
        if (next.done) {
          controller.close();
          return;
        }
        chunk = next.value;
      }
      loaded += chunk.byteLength;
      controller.enqueue(chunk);
      progress({ loaded, total });
    },
    cancel(reason) {
      return reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { body: stream, headers };
}
