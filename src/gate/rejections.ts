// Every JSON error the gate answers with: code, status and meaning, in one
// place. The middleware, the server and the proxy take their statuses from
// here, and a test holds docs/gate.md's table equal to this one.

export interface Rejection {
  readonly status: 400 | 403 | 404 | 408 | 413 | 500 | 502 | 503 | 504;
  /** One sentence, as docs/gate.md's table shows it. */
  readonly meaning: string;
}

export const REJECTIONS = {
  "bad-request-target": {
    status: 400,
    meaning:
      "The request target is not a path (absolute-form `http://…`, asterisk-form `*`), or the path holds a character or a percent-encoding that a path may not.",
  },
  "bad-path": {
    status: 400,
    meaning:
      "The path could name something outside the upstream base once decoded: a `..` above its root, an encoded `/` or `\\` (`%2F`, `%5C`), an encoded `%` before one, or a `..;` segment.",
  },
  "bad-connection-header": {
    status: 400,
    meaning:
      "The `Connection` header names `Content-Length`, `Transfer-Encoding`, `Host`, an `X-Enrollgate-*` header or `X-Apple-Aspen-DeviceInfo` for removal.",
  },
  "bad-host-header": { status: 400, meaning: "The request has more than one `Host` header." },
  "unsupported-encoding": {
    status: 400,
    meaning:
      "The body has a `Content-Encoding` other than `identity`, or a `Transfer-Encoding` other than `chunked`: the gate could not see what it carries.",
  },
  "ambiguous-machine-info": {
    status: 400,
    meaning:
      "The request carries MachineInfo more than once: in two places (header, query, form field or JSON member, body), a repeated header, parameter, field or member, or a CMS SignedData body under any `Content-Type` beside another copy.",
  },
  "bad-content-type": {
    status: 400,
    meaning:
      "The request has two `Content-Type` headers that differ or one spelt `Content_Type`, a form or JSON `Content-Type` whose charset is not ASCII-compatible (UTF-16, UTF-7, EBCDIC), or a JSON body in UTF-16 or UTF-32: parsers could read other field names than the gate.",
  },
  "bad-multipart": {
    status: 400,
    meaning:
      "A multipart body the gate cannot read one way only: no boundary or one parsers read differently, the boundary anywhere but on its own delimiter lines, no closing delimiter, a part without exactly one `Content-Disposition` with exactly one `name`, a folded header, a `Content-Transfer-Encoding`, a multipart part.",
  },
  "bad-base64": {
    status: 400,
    meaning:
      "MachineInfo in the header, the query parameter, a form field or a JSON member is not base64 (or, in a multipart part, CMS).",
  },
  "empty-body": { status: 400, meaning: "A MachineInfo body (`Content-Type: application/pkcs7-signature`) is empty." },
  "bad-body": {
    status: 400,
    meaning: "The body could not be read: the client went away, or a body parser before the gate consumed it.",
  },
  "bad-cms": {
    status: 400,
    meaning:
      "MachineInfo is not a CMS SignedData message (bad DER, unexpected structure, more certificates than allowed).",
  },
  "bad-plist": {
    status: 400,
    meaning:
      "The signed content is not an XML property list the gate reads (a DTD subset or entity declarations, a binary plist, bad UTF-8, too deep).",
  },
  "invalid-machine-info": { status: 400, meaning: "The property list does not match Apple's MachineInfo schema." },
  "unverified-machine-info": {
    status: 403,
    meaning: "The signature does not verify or does not chain to a trust anchor, under `verify: enforce`.",
  },
  "no-machine-info": { status: 403, meaning: "The request carries no MachineInfo, under `noMachineInfo: reject`." },
  "not-found": {
    status: 404,
    meaning:
      "A request to the admin listener (`--admin-port`) for anything but `GET` or `HEAD` of `/healthz`, `/readyz` or `/metrics`.",
  },
  "body-timeout": {
    status: 408,
    meaning:
      "The MachineInfo body, or a form or JSON body, did not arrive within `bodyTimeout` (10 s); the connection is closed.",
  },
  "body-too-large": {
    status: 413,
    meaning:
      "MachineInfo, or a form or JSON body (which the gate reads whole to find `deviceinfo` fields), is larger than `bodyLimit` (64 KiB).",
  },
  internal: { status: 500, meaning: "The gate failed on this request; its log has the details." },
  "upstream-unreachable": { status: 502, meaning: "The upstream MDM server cannot be reached." },
  "not-ready": { status: 503, meaning: "No policy set is active yet." },
  "upstream-timeout": { status: 504, meaning: "The upstream did not start answering within `--upstream-timeout`." },
} as const satisfies Record<string, Rejection>;

export type RejectionCode = keyof typeof REJECTIONS;

export function statusOf(code: RejectionCode): Rejection["status"] {
  return REJECTIONS[code].status;
}
