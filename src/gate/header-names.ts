// Header names as an upstream may read them. CGI-style servers (PHP, WSGI,
// Rack) map `-` and `_` to the same variable, so the gate treats
// `X_Apple_Aspen_DeviceInfo` as the MachineInfo header and `X_Enrollgate_*`
// as its own, in any letter case.

export const MACHINE_INFO_HEADER = "x-apple-aspen-deviceinfo";

/** A header name lower-cased, with `_` read as `-`. */
export const canonicalName = (name: string): string => name.toLowerCase().replace(/_/g, "-");

export const isEnrollgateHeader = (name: string): boolean => canonicalName(name).startsWith("x-enrollgate");
