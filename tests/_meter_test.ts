import assert from "node:assert/strict";
import { type Progress, ResponseSizeError } from "../mod.ts";
import { FetchResponse } from "../src/adapters/_fetch_response.ts";
import {
  DEFAULT_BODY_OPTIONS,
  meter,
  metersDownload,
  meterUpload,
  parseBodyOptions,
} from "../src/_meter.ts";
import { test } from "./_test.ts";

const request = { method: "GET", url: "https://a.test/" };

function raw(body: string, headers: Record<string, string> = {}) {
  return new FetchResponse(
    new Response(body, { headers }),
    request.url,
    () => {},
    "GET",
  );
}

test("meter() counts a download and stops it past the size limit", async () => {
  const seen: Progress[] = [];
  const counted = meter(
    raw("x".repeat(10), { "content-length": "10" }),
    request,
    {
      maxResponseSize: 0,
      onDownloadProgress: (progress) => seen.push(progress),
    },
  );
  assert.equal(await counted.text(), "x".repeat(10));
  assert.deepEqual(seen[0], { loaded: 0, total: 10 });
  assert.deepEqual(seen.at(-1), { loaded: 10, total: 10 });
  // Over the limit by Content-Length: at once.
  assert.throws(
    () =>
      meter(raw("x".repeat(10), { "content-length": "10" }), request, {
        maxResponseSize: 5,
        onDownloadProgress: undefined,
      }),
    ResponseSizeError,
  );
  // Over the limit while reading.
  const streamed = meter(raw("x".repeat(10)), request, {
    maxResponseSize: 5,
    onDownloadProgress: undefined,
  });
  await assert.rejects(streamed.text(), ResponseSizeError);
  // A compressed body has no known total.
  const seenEncoded: Progress[] = [];
  meter(
    raw("x", { "content-encoding": "gzip", "content-length": "1" }),
    request,
    {
      maxResponseSize: 0,
      onDownloadProgress: (progress) => seenEncoded.push(progress),
    },
  );
  assert.equal(seenEncoded[0]?.total, undefined);
});

test("meterUpload() reports an upload as it is pulled", async () => {
  const seen: Progress[] = [];
  const upload = meterUpload(
    "x".repeat(100_000),
    undefined,
    (p) => seen.push(p),
  );
  assert.deepEqual(upload.headers, { "content-length": "100000" });
  assert.equal((await new Response(upload.body).text()).length, 100_000);
  assert.deepEqual(seen.map((p) => p.loaded), [0, 65_536, 100_000]);
  assert.ok(seen.every((p) => p.total === 100_000));
});

test("parseBodyOptions() and metersDownload()", () => {
  assert.equal(
    parseBodyOptions({}, DEFAULT_BODY_OPTIONS, "x"),
    DEFAULT_BODY_OPTIONS,
  );
  assert.equal(metersDownload(DEFAULT_BODY_OPTIONS), false);
  const limited = parseBodyOptions(
    { maxResponseSize: 10 },
    DEFAULT_BODY_OPTIONS,
    "x",
  );
  assert.equal(metersDownload(limited), true);
  assert.equal(
    parseBodyOptions({ maxResponseSize: Infinity }, limited, "x")
      .maxResponseSize,
    0,
  );
  assert.throws(
    () => parseBodyOptions({ maxResponseSize: -1 }, DEFAULT_BODY_OPTIONS, "x"),
    RangeError,
  );
  assert.throws(
    () => parseBodyOptions({ onUploadProgress: 1 }, DEFAULT_BODY_OPTIONS, "x"),
    /'onUploadProgress' must be a function/,
  );
});
