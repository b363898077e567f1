// The com.apple.softwareupdate.required error: the 403 body a device in Setup
// Assistant gets when it must update first, built to fit what the device's
// OS accepts and checked against Apple's schema for it.
import { compareOsVersions, type OsVersion } from "./version.js";
import type { Platform } from "./platform.js";
import type { AppleSchemaDocument } from "./schema/document.js";
import { schemaHasKey, versionBoundaries } from "./schema/bands.js";
import { compileAppleSchema, type ValidationResult } from "./schema/validator.js";
import { formatOsVersion } from "./version.js";

export const SOFTWARE_UPDATE_REQUIRED = "com.apple.softwareupdate.required";

/** The body of Apple's 403 `com.apple.softwareupdate.required` error, as the device reads it. */
export interface SoftwareUpdateRequiredBody {
  readonly code: typeof SOFTWARE_UPDATE_REQUIRED;
  readonly message?: string;
  readonly description?: string;
  readonly details: {
    readonly OSVersion: string;
    readonly BuildVersion?: string;
    readonly RequireBetaProgram?: { readonly Description: string; readonly Token: string };
  };
}

/** A run of OS versions on one platform over which the error's schema is the same. */
export interface ErrorBand {
  readonly platform: Platform;
  /** Inclusive. */
  readonly from: OsVersion;
  /** Exclusive; null for open-ended. */
  readonly to: OsVersion | null;
  readonly acceptsBetaProgram: boolean;
  validate(body: unknown): ValidationResult;
}

export interface ErrorSchema {
  /** The bands where the error exists on the platform, ascending. */
  bands(platform: Platform): ReadonlyArray<ErrorBand>;
  /** The band for a device, or null when the device cannot receive the error. */
  bandAt(platform: Platform, os: OsVersion): ErrorBand | null;
}

const cache = new WeakMap<AppleSchemaDocument, ErrorSchema>();

/** Compiles the error's schema once per band of each platform, lazily. */
export function errorSchema(doc: AppleSchemaDocument): ErrorSchema {
  const cached = cache.get(doc);
  if (cached !== undefined) return cached;
  const byPlatform = new Map<Platform, ReadonlyArray<ErrorBand>>();
  const bands = (platform: Platform): ReadonlyArray<ErrorBand> => {
    let list = byPlatform.get(platform);
    if (list === undefined) {
      const bounds = versionBoundaries(doc, platform);
      const out: ErrorBand[] = [];
      bounds.forEach((from, i) => {
        const compiled = compileAppleSchema(doc, { platform, os: formatOsVersion(from), direction: "emit" });
        if (!compiled.applicable) return;
        out.push({
          platform,
          from,
          to: bounds[i + 1] ?? null,
          acceptsBetaProgram: schemaHasKey(compiled.schema, ["details", "RequireBetaProgram"]),
          validate: compiled.validate,
        });
      });
      list = Object.freeze(out);
      byPlatform.set(platform, list);
    }
    return list;
  };
  const schema: ErrorSchema = {
    bands,
    bandAt(platform, os) {
      for (const band of bands(platform)) {
        if (compareOsVersions(os, band.from) >= 0 && (band.to === null || compareOsVersions(os, band.to) < 0))
          return band;
      }
      return null;
    },
  };
  cache.set(doc, schema);
  return schema;
}

export interface UpdateRequest {
  readonly osVersion: string;
  readonly buildVersion: string | null;
  readonly betaProgram: { readonly description: string; readonly token: string } | null;
  readonly message: string | null;
  readonly description: string | null;
}

/**
 * The body for a band. RequireBetaProgram goes only to devices whose OS
 * accepts it: an older device would reject the whole body.
 */
export function buildBody(request: UpdateRequest, band: ErrorBand): SoftwareUpdateRequiredBody {
  const details: {
    OSVersion: string;
    BuildVersion?: string;
    RequireBetaProgram?: { Description: string; Token: string };
  } = {
    OSVersion: request.osVersion,
  };
  if (request.buildVersion !== null) details.BuildVersion = request.buildVersion;
  if (request.betaProgram !== null && band.acceptsBetaProgram) {
    details.RequireBetaProgram = { Description: request.betaProgram.description, Token: request.betaProgram.token };
  }
  return {
    code: SOFTWARE_UPDATE_REQUIRED,
    ...(request.message !== null ? { message: request.message } : {}),
    ...(request.description !== null ? { description: request.description } : {}),
    details,
  };
}

/** The body with its beta token replaced: for output people and logs see. */
export function redactToken(body: SoftwareUpdateRequiredBody): SoftwareUpdateRequiredBody {
  const beta = body.details.RequireBetaProgram;
  if (beta === undefined) return body;
  return { ...body, details: { ...body.details, RequireBetaProgram: { ...beta, Token: "<redacted>" } } };
}
