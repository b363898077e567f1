// A client for Azure Device Update's data plane: the seed's v2 API
// (https://{account}.api.adu.microsoft.com/deviceupdate/{instance}/v2/updates/...)
// and the GA API (https://{endpoint}/deviceUpdate/{instanceId}/updates/...?api-version=2022-10-01).
// Never called on the request path: catalogs are fetched at compile/reload time.
import { EnrollgateError } from "../errors.js";
import { printable } from "../printable.js";
import { isRecord } from "./feed-json.js";

export type AduApi = "v2" | "2022-10-01";
export const ADU_APIS: ReadonlyArray<AduApi> = ["v2", "2022-10-01"];
export const ADU_SCOPE = "https://api.adu.microsoft.com/.default";
/** The least-privileged data-plane role that can read updates. */
export const ADU_READ_ROLE = "Device Update Content Reader";

/** Anything with getToken(scope), such as @azure/identity's DefaultAzureCredential. */
export interface TokenCredential {
  getToken(scope: string | string[]): Promise<{ readonly token: string } | null>;
}

export interface AduUpdate {
  readonly provider: string;
  readonly name: string;
  readonly version: string;
  /** v2: {deviceManufacturer, deviceModel}; GA: string maps, usually {manufacturer, model}. */
  readonly compatibility: ReadonlyArray<Readonly<Record<string, string>>>;
  /** The entity tag, quotes and all, for If-None-Match. */
  readonly etag: string | null;
}

/** An update ADU has, or (`ok: false`) one it answered 404 for: not imported. */
export type GetUpdateResult =
  | { readonly ok: true; readonly update: AduUpdate; readonly notModified: boolean }
  | { readonly ok: false; readonly message: string };

export type AduErrorKind =
  "unauthorized" | "forbidden" | "timeout" | "unreachable" | "throttled" | "server" | "bad-request" | "bad-response";

/** ADU could not answer; the code is `adu-` and the kind (`adu-throttled`, `adu-forbidden`...). */
export class AduError extends EnrollgateError<`adu-${AduErrorKind}`> {
  override readonly name = "AduError";
  constructor(
    readonly kind: AduErrorKind,
    message: string,
    /** The HTTP status ADU answered with, if it answered. */
    readonly status?: number,
  ) {
    super(`adu-${kind}`, message);
  }
}

export interface AduClientOptions {
  /** Scheme and host, e.g. https://contoso.api.adu.microsoft.com */
  readonly baseUrl: string;
  readonly instance: string;
  readonly api: AduApi;
  readonly credential: TokenCredential;
  /** Per request; default 10 s. */
  readonly timeoutMs?: number;
  /** Tries per request, the first included; default 4. */
  readonly maxAttempts?: number;
  /** Cap on any wait between tries; default 30 s. */
  readonly maxDelayMs?: number;
  /** First backoff step; default 250 ms. */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** fetch() wraps the reason it failed (ECONNREFUSED, a TLS error) in `cause`. */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

/** A token credential from a fixed bearer token (ENROLLGATE_ADU_TOKEN). */
export function staticToken(token: string): TokenCredential {
  return { getToken: () => Promise.resolve({ token }) };
}

/** How long 429 asks us to wait: retry-after-ms, else Retry-After in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers, now: number): number | null {
  const ms = headers.get("retry-after-ms") ?? headers.get("x-ms-retry-after-ms");
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const after = headers.get("retry-after");
  if (after === null) return null;
  if (/^\d+$/.test(after.trim())) return Number(after) * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export class AduClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxDelayMs: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: AduClientOptions) {
    this.base = new URL(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Where an update lives in this API. */
  updateUrl(provider: string, name: string, version?: string): URL {
    const seg = (s: string) => encodeURIComponent(s);
    const path =
      this.options.api === "v2"
        ? `/deviceupdate/${seg(this.options.instance)}/v2/updates/providers/${seg(provider)}/names/${seg(name)}/versions${version === undefined ? "" : `/${seg(version)}`}`
        : `/deviceUpdate/${seg(this.options.instance)}/updates/providers/${seg(provider)}/names/${seg(name)}/versions${version === undefined ? "" : `/${seg(version)}`}`;
    const url = new URL(path, this.base);
    if (this.options.api !== "v2") url.searchParams.set("api-version", this.options.api);
    return url;
  }

  private backoff(attempt: number): number {
    // Full jitter on a capped exponential step.
    return Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt));
  }

  private async token(): Promise<string> {
    let result;
    try {
      result = await this.options.credential.getToken(ADU_SCOPE);
    } catch (e) {
      throw new AduError("unauthorized", `no token for ${ADU_SCOPE}: ${(e as Error).message}`);
    }
    if (result === null || result.token === "") throw new AduError("unauthorized", `no token for ${ADU_SCOPE}`);
    return result.token;
  }

  /** One logical request, retried on 429, 5xx, timeouts and network errors. */
  private async request(url: URL, etag: string | null): Promise<Response> {
    let lastError: AduError | null = null;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      if (attempt > 0 && lastError !== null && lastError.kind !== "throttled") await this.sleep(this.backoff(attempt));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.timeoutMs);
      let res: Response;
      try {
        const headers: Record<string, string> = {
          accept: "application/json",
          authorization: `Bearer ${await this.token()}`,
        };
        if (etag !== null) headers["if-none-match"] = etag;
        res = await fetch(url, { headers, signal: controller.signal });
      } catch (e) {
        clearTimeout(timer);
        if (e instanceof AduError) throw e;
        lastError = controller.signal.aborted
          ? new AduError("timeout", `${url.origin} did not answer within ${this.timeoutMs} ms`)
          : new AduError("unreachable", `${url.origin} cannot be reached: ${causeOf(e)}`);
        continue;
      }
      clearTimeout(timer);
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers, this.now());
        await res.body?.cancel();
        lastError = new AduError("throttled", `${url.origin} throttled the request (429)`, 429);
        if (attempt + 1 < this.maxAttempts)
          await this.sleep(Math.min(this.maxDelayMs, wait ?? this.backoff(attempt + 1)));
        continue;
      }
      if (res.status >= 500) {
        await res.body?.cancel();
        lastError = new AduError("server", `${url.origin} failed with ${res.status}`, res.status);
        continue;
      }
      return res;
    }
    throw new AduError(
      lastError?.kind ?? "unreachable",
      `${lastError?.message ?? "no answer"} (after ${this.maxAttempts} tries)`,
      lastError?.status,
    );
  }

  /** The server's own words, for messages: line feeds in them would start lines of the server's in a CI log. */
  private async errorMessage(res: Response): Promise<string> {
    return printable(await this.errorText(res));
  }

  private async errorText(res: Response): Promise<string> {
    const text = await res.text().catch(() => "");
    try {
      const body = JSON.parse(text) as unknown;
      if (isRecord(body) && isRecord(body.error) && typeof body.error.message === "string") {
        return `${typeof body.error.code === "string" ? `${body.error.code}: ` : ""}${body.error.message}`;
      }
    } catch {
      // not JSON: use the text
    }
    return text.slice(0, 200);
  }

  private async refuse(res: Response, what: string): Promise<never> {
    const detail = await this.errorMessage(res);
    const role = `the identity needs the ${ADU_READ_ROLE} role (or Device Update Reader, or Device Update Administrator) on instance ${this.options.instance}`;
    if (res.status === 401)
      throw new AduError(
        "unauthorized",
        `ADU rejected the token for ${what} (401)${detail !== "" ? `: ${detail}` : ""}; check ENROLLGATE_ADU_TOKEN or the Azure identity; ${role}`,
        401,
      );
    if (res.status === 403)
      throw new AduError("forbidden", `ADU refused ${what} (403)${detail !== "" ? `: ${detail}` : ""}; ${role}`, 403);
    throw new AduError(
      "bad-request",
      `ADU answered ${res.status} for ${what}${detail !== "" ? `: ${detail}` : ""}`,
      res.status,
    );
  }

  /** Gets an update; with `cached`, sends its ETag and returns it unchanged on 304. */
  async getUpdate(
    provider: string,
    name: string,
    version: string,
    cached?: AduUpdate | null,
  ): Promise<GetUpdateResult> {
    const what = `update ${provider}/${name}/${version}`;
    const res = await this.request(this.updateUrl(provider, name, version), cached?.etag ?? null);
    if (res.status === 304) {
      await res.body?.cancel();
      if (cached === undefined || cached === null)
        throw new AduError("bad-response", `ADU answered 304 for ${what} without an ETag sent`, 304);
      return { ok: true, update: cached, notModified: true };
    }
    if (res.status === 404) {
      const detail = await this.errorMessage(res);
      return { ok: false, message: `${what} is not imported into ADU${detail !== "" ? ` (${detail})` : ""}` };
    }
    if (res.status !== 200) return this.refuse(res, what);
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new AduError("bad-response", `ADU answered ${what} with something that is not JSON`, 200);
    }
    if (!isRecord(body) || !Array.isArray(body.compatibility))
      throw new AduError("bad-response", `ADU's answer for ${what} has no compatibility list`, 200);
    const compatibility = body.compatibility
      .filter(isRecord)
      .map((c) => Object.fromEntries(Object.entries(c).filter((e): e is [string, string] => typeof e[1] === "string")));
    const etag = res.headers.get("etag") ?? (typeof body.etag === "string" ? body.etag : null);
    return { ok: true, update: { provider, name, version, compatibility, etag }, notModified: false };
  }

  /** Every version of provider/name, following nextLink pages (relative links resolve against the endpoint). */
  async listVersions(provider: string, name: string, maxPages = 100): Promise<string[]> {
    const what = `the versions of ${provider}/${name}`;
    const versions: string[] = [];
    let url: URL | null = this.updateUrl(provider, name);
    for (let page = 0; url !== null; page++) {
      if (page >= maxPages) throw new AduError("bad-response", `${what} run past ${maxPages} pages`);
      const res = await this.request(url, null);
      if (res.status === 404) {
        await res.body?.cancel();
        return [];
      }
      if (res.status !== 200) return this.refuse(res, what);
      const body: unknown = await res.json().catch(() => null);
      if (!isRecord(body) || !Array.isArray(body.value))
        throw new AduError("bad-response", `ADU's answer for ${what} has no value list`, 200);
      versions.push(...body.value.filter((v): v is string => typeof v === "string"));
      const next: unknown = body.nextLink;
      if (typeof next === "string" && next !== "") {
        const resolved: URL = new URL(next, this.base);
        // Follow links on the same endpoint only: the token goes wherever the link points.
        if (resolved.origin !== this.base.origin)
          throw new AduError("bad-response", `ADU's nextLink points to another host (${resolved.origin})`);
        url = resolved;
      } else {
        url = null;
      }
    }
    return versions;
  }
}
