// Prometheus metrics for a gate, in their own registry so that several gates
// (or tests) in one process never collide.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export class GateMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: "enrollgate_decisions_total",
    help: "Decisions by outcome, reason and deciding rule",
    labelNames: ["decision", "reason", "rule"] as const,
    registers: [this.registry],
  });
  readonly decisionSeconds = new Histogram({
    name: "enrollgate_decision_duration_seconds",
    help: "Time from request to decision, including MachineInfo verification",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: "enrollgate_rejections_total",
    help: "Requests answered with an error before any decision (malformed, oversized or unverified MachineInfo); failure: why a message was refused (bad-cms, unverified-machine-info)",
    labelNames: ["status", "code", "failure"] as const,
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: "enrollgate_policy_reloads_total",
    help: "Policy set reloads that took effect",
    registers: [this.registry],
  });
  readonly reloadFailures = new Counter({
    name: "enrollgate_policy_reload_failures_total",
    help: "Policy set reloads that failed; the last good set kept serving",
    registers: [this.registry],
  });
  readonly weakenings = new Counter({
    name: "enrollgate_policy_weakenings_total",
    help: "Changes that made a reloaded policy set protect less (rules removed, minimums lowered, verification relaxed...), by kind",
    labelNames: ["change"] as const,
    registers: [this.registry],
  });
  readonly feedFailures = new Counter({
    name: "enrollgate_feed_refresh_failures_total",
    help: "Feed sources (GDMF snapshot, ADU) that failed on a reload; their last good data stayed in use",
    registers: [this.registry],
  });
  readonly exposed = new Counter({
    name: "enrollgate_exploited_exposure_total",
    help: "Decisions on devices running a version with actively exploited vulnerabilities open (per SOFA), by outcome and reason",
    labelNames: ["decision", "reason"] as const,
    registers: [this.registry],
  });
  readonly revision = new Gauge({
    name: "enrollgate_policy_revision_info",
    help: "The active policy set's revision",
    labelNames: ["revision"] as const,
    registers: [this.registry],
  });
  readonly rules = new Gauge({
    name: "enrollgate_policy_rules",
    help: "Rules in the active policy set",
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: "enrollgate_ready",
    help: "1 once a policy set is active",
    registers: [this.registry],
  });
  readonly droppedConnections = new Counter({
    name: "enrollgate_connections_dropped_total",
    help: "Connections closed on arrival because the gate held its maximum of open connections",
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: "enrollgate_upstream_errors_total",
    help: "Allowed requests the upstream MDM server did not answer",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  readonly tlsReloads = new Counter({
    name: "enrollgate_tls_reloads_total",
    help: "Times a new TLS certificate and key took effect (SIGHUP, or their files changed)",
    registers: [this.registry],
  });
  readonly tlsReloadFailures = new Counter({
    name: "enrollgate_tls_reload_failures_total",
    help: "Times new TLS certificate or key files could not be used; the certificate already serving stayed",
    registers: [this.registry],
  });
  // Labelled, so that a gate serving plain HTTP reports no expiry at all (an unlabelled gauge would read 0).
  readonly tlsCertificateExpiry = new Gauge({
    name: "enrollgate_tls_certificate_expiry_timestamp_seconds",
    help: "When the TLS certificate the gate serves expires (Unix time), by its subject",
    labelNames: ["subject"] as const,
    registers: [this.registry],
  });
  readonly tlsHandshakeFailures = new Counter({
    name: "enrollgate_tls_handshake_failures_total",
    help: "TLS connections that ended before the handshake completed (an old protocol version, no common cipher, a client that is not TLS, a timeout)",
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: "enrollgate_" });
  }

  activate(revision: string, rules: number): void {
    this.revision.reset();
    this.revision.set({ revision }, 1);
    this.rules.set(rules);
    this.ready.set(1);
  }
}
