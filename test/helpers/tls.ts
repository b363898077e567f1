// Real TLS on loopback: a throwaway CA, server certificates it issues (valid
// now, for 127.0.0.1 and localhost), and clients that report what they saw:
// the certificate's fingerprint, the protocol, and which connection answered.
import { request, type Agent } from "node:https";
import { connect } from "node:tls";
import { createCA, createIdentity, privateKeyPem, type Identity } from "../../support/signing.js";

const DAY = 86_400_000;

/** A CA for TLS server certificates, valid from yesterday to next month. */
export function tlsCA(name = "Test TLS CA"): Promise<Identity> {
  const now = Date.now();
  return createCA(name, "ecdsa", { valid: { from: new Date(now - DAY), to: new Date(now + 30 * DAY) } });
}

export interface ServerPem {
  readonly cert: string;
  readonly key: string;
}

/** A server certificate for 127.0.0.1 and localhost, and its key, as PEM files hold them. */
export async function serverCertificate(ca: Identity, commonName: string): Promise<ServerPem> {
  const now = Date.now();
  const leaf = await createIdentity(ca, {
    kind: "ecdsa",
    commonName,
    altNames: ["127.0.0.1", "localhost"],
    valid: { from: new Date(now - DAY), to: new Date(now + 30 * DAY) },
  });
  return { cert: leaf.pem, key: await privateKeyPem(leaf) };
}

export interface TlsAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The SHA-256 fingerprint of the certificate the connection was made with. */
  readonly fingerprint: string;
  readonly protocol: string | null;
  /** The client's port: the same for two requests on one keep-alive connection. */
  readonly localPort: number;
}

/** One HTTPS request, trusting `ca`; with `agent`, on its keep-alive connections. */
export function httpsRequest(
  url: string,
  options: {
    ca: string;
    agent?: Agent;
    method?: string;
    headers?: Record<string, string>;
    body?: Uint8Array;
  },
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        ca: options.ca,
        headers: options.headers ?? {},
        ...(options.agent !== undefined ? { agent: options.agent } : { agent: false }),
      },
      (res) => {
        const socket = res.socket as import("node:tls").TLSSocket;
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        const protocol = socket.getProtocol();
        const localPort = socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            headers: res.headers,
            fingerprint,
            protocol,
            localPort,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * A TLS handshake limited to protocol versions `min` to `max`, with OpenSSL's security level lowered so that the
 * client really offers TLS 1.0 and 1.1: resolves to the protocol agreed, or the handshake's error code.
 */
export function handshake(
  port: number,
  ca: string,
  versions: { min: "TLSv1.1" | "TLSv1.2" | "TLSv1.3"; max: "TLSv1.1" | "TLSv1.2" | "TLSv1.3" },
): Promise<{ ok: true; protocol: string | null } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      ca,
      minVersion: versions.min,
      maxVersion: versions.max,
      ciphers: "DEFAULT@SECLEVEL=0",
    });
    socket.once("secureConnect", () => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve({ ok: true, protocol });
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? e.message }));
  });
}
