import type { ClientSettings } from "../model/client-settings";
import type { HttpAnswer } from "../model/http-answer";
import type { Secret } from "../model/secret";

/** The HTTP layer's contract (see http.ts: h1-client.ts, undici only through a SOCKS proxy). Its settings are plain data. */
export type HttpClientConfig = ClientSettings;

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

export type HttpResponse = HttpAnswer;

export type HttpStreamResponse = Omit<HttpResponse, "body" | "truncated"> & { body: ReadableStream<Uint8Array> };

export interface HttpClient {
  /** Never follows redirects; throws NetError on transport failure. */
  request(init: HttpRequestInit): Promise<HttpResponse>;
  stream(init: HttpRequestInit): Promise<HttpStreamResponse>;
  close(): Promise<void>;
}
