import { redactHeaders, redactUrl, scrubDeep } from "../model/redact";
import type { Trace } from "../model/trace";
import type { HttpRequestInit, HttpResponse } from "./http-types";
import { preview } from "./http-util";

/* What http.ts makes of an answer: the fields both request() and stream() return, and the --verbose trace. */

/** The parts of an answer both request() and stream() return. */
export function headOf(
  o: { res: { statusCode: number; statusText?: string }; h: Record<string, string>; raw: [string, string][]; remoteAddress: string | null },
  init: HttpRequestInit,
): Omit<HttpResponse, "body" | "truncated" | "durationMs"> {
  return {
    status: o.res.statusCode,
    statusText: o.res.statusText ?? "",
    headers: o.h,
    rawHeaders: o.raw,
    url: init.url,
    remoteAddress: o.remoteAddress,
  };
}

/** One exchange into --verbose's trace: secrets redacted, a body previewed unless it is sensitive (a token answer). */
export function traceExchange(
  trace: Trace | undefined,
  init: HttpRequestInit,
  reqHeaders: Record<string, string>,
  status: number | null,
  resHeaders: Record<string, string>,
  started: number,
  error?: string,
  body?: Uint8Array,
  /** Where the exchange went (a proxy, the connected address), for the report's egress list. */
  where: { proxy: string | null; address: string | null } = { proxy: null, address: null },
): void {
  if (!trace) return;
  const rh = redactHeaders(resHeaders);
  if (typeof rh.location === "string") rh.location = redactUrl(rh.location);
  trace.record({
    kind: "http",
    method: init.method,
    url: redactUrl(init.url),
    status,
    requestHeaders: redactHeaders(reqHeaders),
    responseHeaders: rh,
    durationMs: Math.round(performance.now() - started),
    ...(error ? { error: scrubDeep(error) } : {}),
    ...(body && !init.sensitiveBody ? { bodyPreview: preview(body, resHeaders["content-type"]) } : {}),
    ...(where.proxy ? { proxy: where.proxy } : {}),
    ...(where.address ? { address: where.address } : {}),
  });
}
