import type { Deps } from "../model/deps";
import type { ProxyRoute, Resolution, TlsSettings } from "../model/facts";
import type { Secret } from "../model/secret";
import type { Trace } from "../model/trace";

/** The HTTP layer's contract (see http.ts; the only module that talks to undici). */
export interface HttpClientConfig {
  /** Addresses to use for resolution.hostname (connect lookup); other hosts are resolved on demand. */
  resolution?: Resolution | null;
  dnsServers?: string[];
  deps: Deps;
  /** Proxy for this client's requests (null = direct). */
  route?: ProxyRoute | null;
  /** Extra CAs, client certificate, verify flag. */
  tls?: TlsSettings;
  timeoutMs: number;
  signal?: AbortSignal;
  trace?: Trace;
}

export interface HttpRequestInit {
  method: "GET" | "HEAD" | "POST" | "PUT";
  url: string;
  headers?: Record<string, string>;
  /** Revealed only here, sent as the Authorization header, never traced. */
  authorization?: Secret | null;
  body?: string | Uint8Array;
  /** Default 64 KiB (as go-containerregistry caps error bodies); beyond it the body is cut and truncated=true. */
  maxBodyBytes?: number;
  /** The response body carries secrets (a token endpoint): never preview it in the trace. */
  sensitiveBody?: boolean;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** One entry per header line (WWW-Authenticate is one challenge per line). */
  rawHeaders: [string, string][];
  body: Uint8Array;
  truncated: boolean;
  url: string;
  durationMs: number;
  remoteAddress: string | null;
}

export type HttpStreamResponse = Omit<HttpResponse, "body" | "truncated"> & { body: ReadableStream<Uint8Array> };

export interface HttpClient {
  /** Never follows redirects; throws NetError on transport failure. */
  request(init: HttpRequestInit): Promise<HttpResponse>;
  stream(init: HttpRequestInit): Promise<HttpStreamResponse>;
  close(): Promise<void>;
}
