// Which peers may tell the gate who the client is (`trustProxy`, named after
// Express's `trust proxy`): addresses, CIDR ranges, and the names loopback,
// linklocal and uniquelocal. Forwarding headers from any other peer are
// replaced by the gate's own; the client address is found as Express finds
// it: walk X-Forwarded-For from the peer leftwards past trusted addresses.
import { BlockList, isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import { EnrollgateError } from "../errors.js";

const NAMED: Readonly<Record<string, ReadonlyArray<string>>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

export class TrustProxyError extends EnrollgateError<"trust-proxy-invalid"> {
  override readonly name = "TrustProxyError";

  constructor(message: string) {
    super("trust-proxy-invalid", message);
  }
}

/** An address as the gate reports it: IPv4-mapped IPv6 as plain IPv4, no zone id. */
export function plainAddress(address: string): string {
  const unzoned = address.split("%", 1)[0] ?? address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(unzoned);
  return mapped !== null ? (mapped[1] as string) : unzoned;
}

export class ProxyTrust {
  private readonly list = new BlockList();

  private constructor(readonly entries: ReadonlyArray<string>) {
    for (const entry of entries) this.add(entry);
  }

  /** Entries as written (each may be a comma list); throws TrustProxyError naming a bad one. */
  static parse(entries: ReadonlyArray<string>): ProxyTrust {
    const flat = entries
      .flatMap((e) => e.split(","))
      .map((e) => e.trim())
      .filter((e) => e !== "");
    return new ProxyTrust(flat);
  }

  static readonly NONE = ProxyTrust.parse([]);

  private add(entry: string): void {
    const named = NAMED[entry.toLowerCase()];
    if (named !== undefined) {
      for (const range of named) this.add(range);
      return;
    }
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) ||
      Number(prefix ?? bits) > bits
    ) {
      throw new TrustProxyError(
        `trust proxy entry ${JSON.stringify(entry)} is not an IP address, a CIDR range (10.0.0.0/8, fd00::/8) or one of loopback, linklocal, uniquelocal`,
      );
    }
    this.list.addSubnet(address, Number(prefix ?? bits), family === 4 ? "ipv4" : "ipv6");
  }

  get none(): boolean {
    return this.entries.length === 0;
  }

  trusts(address: string): boolean {
    if (this.none) return false;
    const plain = plainAddress(address.trim());
    const family = isIP(plain);
    if (family === 0) return false;
    return (
      this.list.check(plain, family === 4 ? "ipv4" : "ipv6") ||
      (family === 4 && this.list.check(`::ffff:${plain}`, "ipv6"))
    );
  }
}

/** Who sent a request, as the decision log and `res.locals.enrollgate.client` name it. */
export interface ClientAddress {
  /** The client: the peer, or from X-Forwarded-For when the peer is a trusted proxy. */
  readonly address: string;
  /** The address of the TCP peer. */
  readonly peer: string;
  /** Whether the peer is a trusted proxy (its forwarding headers are kept and appended to). */
  readonly viaTrustedProxy: boolean;
}

/** Every value of a header, exactly by its name (duplicates included). */
export function headerValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2)
    if ((raw[i] as string).toLowerCase() === name) values.push(raw[i + 1] as string);
  return values;
}

export function clientAddress(req: IncomingMessage, trust: ProxyTrust): ClientAddress {
  const peer = plainAddress(req.socket.remoteAddress ?? "");
  if (!trust.trusts(peer)) return { address: peer, peer, viaTrustedProxy: false };
  const hops = headerValues(req, "x-forwarded-for")
    .join(",")
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  let address = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    address = plainAddress(hops[i] as string);
    if (!trust.trusts(address)) break;
  }
  return { address, peer, viaTrustedProxy: true };
}
