// The headers an allowed request carries upstream: the client's end-to-end
// headers, minus anything that could pass for the gate's word (every
// `X-Enrollgate-*`, in any case, `_` for `-`), minus forwarding headers from
// peers that are not trusted proxies; plus the gate's decision, the verified
// facts (so the MDM server need not parse MachineInfo again), and forwarding
// headers that say who the client is.
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { canonicalName } from "./header-names.js";
import { endToEndFilter } from "./hop-by-hop.js";
import type { GateOutcome } from "./middleware.js";
import { headerValues } from "./trust-proxy.js";

/** Forwarding headers: the gate writes its own, and keeps a client's only from a trusted proxy. */
const FORWARDING = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip"]);
/**
 * Other headers proxies and CDNs set to say who the client is or how it came
 * (every `X-Forwarded-*`, and the client-address headers libraries such as
 * request-ip read first): kept only from a trusted proxy, as it sent them.
 */
const OTHER_FORWARDING = new Set([
  "x-client-ip",
  "client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-cluster-client-ip",
  "x-original-forwarded-for",
  "x-forwarded",
  "forwarded-for",
  "x-original-host",
  "x-host",
  "x-scheme",
  "x-url-scheme",
  "front-end-https",
]);
const isOtherForwarding = (canonical: string): boolean =>
  canonical.startsWith("x-forwarded-") || OTHER_FORWARDING.has(canonical);

/** Headers some frameworks (Symfony, IIS, Laminas) take as the path instead of the request line's. */
const PATH_OVERRIDES = new Set(["x-original-url", "x-rewrite-url"]);

/**
 * A fact goes upstream only as a plain token: letters, digits and `._,:()+-`,
 * single spaces between, at most 128 characters. Anything else (under
 * `verify: off` a client writes MachineInfo itself) is left out, not encoded:
 * the MDM server reads either the device's value or none.
 */
const SAFE_VALUE = /^[A-Za-z0-9._,:()+-]+(?: [A-Za-z0-9._,:()+-]+)*$/;

export function safeHeaderValue(value: string | undefined | null): string | null {
  return value !== undefined && value !== null && value.length <= 128 && SAFE_VALUE.test(value) ? value : null;
}

/** A Forwarded (RFC 7239) value: a token, or a quoted string. */
function forwardedValue(value: string): string {
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

function forwardedNode(address: string): string {
  return address.includes(":") ? `"[${address}]"` : address;
}

export interface UpstreamHeaderOptions {
  /** Whether the client reached the gate over TLS. */
  readonly secure: boolean;
}

export function upstreamHeaders(
  req: IncomingMessage,
  outcome: GateOutcome,
  options: UpstreamHeaderOptions,
): OutgoingHttpHeaders {
  const endToEnd = endToEndFilter(req.headers);
  const headers: OutgoingHttpHeaders = {};
  const { client } = outcome;
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value === undefined || !endToEnd(name)) continue;
    const canonical = name.includes("_") ? canonicalName(name) : name; // Node lower-cases names
    if (
      canonical.startsWith("x-enrollgate") ||
      FORWARDING.has(canonical) ||
      PATH_OVERRIDES.has(canonical) ||
      canonical === "expect"
    )
      continue;
    // `_` spellings of forwarding headers are never a proxy's (nginx, HAProxy, CDNs send `-`).
    if (isOtherForwarding(canonical) && (!client.viaTrustedProxy || canonical !== name)) continue;
    headers[name] = value;
  }

  const proto = options.secure ? "https" : "http";
  const host = req.headers.host;
  const own = `for=${forwardedNode(client.peer)};proto=${proto}${host !== undefined ? `;host=${forwardedValue(host)}` : ""}`;
  // From a trusted proxy: its forwarding header lines as sent, unless its Connection header made them hop-by-hop.
  const sent = (name: string) => (client.viaTrustedProxy && endToEnd(name) ? headerValues(req, name) : []);
  headers["x-forwarded-for"] = [...sent("x-forwarded-for"), client.peer].join(", ");
  const proxiedProto = sent("x-forwarded-proto");
  headers["x-forwarded-proto"] = proxiedProto.length > 0 ? proxiedProto.join(", ") : proto;
  const proxiedHost = sent("x-forwarded-host");
  if (proxiedHost.length > 0) headers["x-forwarded-host"] = proxiedHost.join(", ");
  else if (host !== undefined) headers["x-forwarded-host"] = host;
  headers.forwarded = [...sent("forwarded"), own].join(", ");
  const realIp = sent("x-real-ip");
  headers["x-real-ip"] = realIp.length === 1 ? realIp[0] : client.address;

  const { decision, facts } = outcome;
  headers["x-enrollgate-decision"] = decision.decision;
  headers["x-enrollgate-reason"] = decision.reason;
  headers["x-enrollgate-revision"] = outcome.revision;
  headers["x-enrollgate-decision-id"] = outcome.decisionId;
  headers["x-enrollgate-verification"] = outcome.verification.status;
  if (facts !== null) {
    const osVersion =
      facts.osVersion === undefined
        ? undefined
        : facts.supplementalExtra === undefined
          ? facts.osVersion
          : `${facts.osVersion} ${facts.supplementalExtra}`;
    const set = (name: string, value: string | undefined) => {
      const safe = safeHeaderValue(value);
      if (safe !== null) headers[name] = safe;
    };
    set("x-enrollgate-serial", facts.serial);
    set("x-enrollgate-udid", facts.udid);
    set("x-enrollgate-product", facts.product);
    set("x-enrollgate-os-version", osVersion);
    set("x-enrollgate-build", facts.supplementalBuild ?? facts.build);
  }
  return headers;
}
