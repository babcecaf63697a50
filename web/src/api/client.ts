// The typed API client: paths and bodies come from `/v2/openapi.json` (npm run openapi).
import createClient, { type Middleware } from "openapi-fetch";
import { fetchEventSource } from "@microsoft/fetch-event-source";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

const TOKEN_KEY = "weft.token";

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer of the API: its status and Weft's error body (`field` names the input). */
export class ApiError extends Error {
  status: number;
  field?: string;
  rule?: string;
  explanation?: string;
  missingFields?: string[][];
  constructor(status: number, body: unknown) {
    const b = (body ?? {}) as Record<string, unknown>;
    super(typeof b.error === "string" ? b.error : `the server answered ${status}`);
    this.status = status;
    if (typeof b.field === "string") this.field = b.field;
    if (typeof b.rule === "string") this.rule = b.rule;
    if (typeof b.explanation === "string") this.explanation = b.explanation;
    if (Array.isArray(b.missingFields)) this.missingFields = b.missingFields as string[][];
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
});
api.use(auth);

/** The data of an answer, or its error thrown as an [`ApiError`]. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as T;
}

/** A raw call, for bodies that are not JSON (components, resources) and untyped answers. */
export async function raw(
  method: string,
  path: string,
  body?: BodyInit,
  contentType?: string,
): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (contentType) headers["Content-Type"] = contentType;
  const response = await fetch(path, { method, headers, body });
  if (!response.ok) {
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, parsed);
  }
  return response;
}

/** A JSON call to any path (catalog kinds are one code path for six entity types). */
export async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await raw(
    method,
    path,
    body === undefined ? undefined : JSON.stringify(body),
    body === undefined ? undefined : "application/json",
  );
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * Follows a server-sent event stream with the token in a header (EventSource cannot send
 * one). Returns a function that stops it.
 */
export function follow(
  path: string,
  onEvent: (event: string, data: string) => void,
  onError?: (error: unknown) => void,
): () => void {
  const controller = new AbortController();
  const token = getToken();
  void fetchEventSource(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: controller.signal,
    openWhenHidden: true,
    async onopen(response) {
      if (!response.ok) {
        let body: unknown = null;
        try {
          body = await response.json();
        } catch {
          /* not JSON */
        }
        throw new ApiError(response.status, body);
      }
    },
    onmessage(message) {
      onEvent(message.event, message.data);
    },
    onerror(error) {
      onError?.(error);
      // an API error is final; a dropped connection is retried by the library
      if (error instanceof ApiError) throw error;
    },
  }).catch(() => {
    /* stopped or refused: reported through onError */
  });
  return () => controller.abort();
}
