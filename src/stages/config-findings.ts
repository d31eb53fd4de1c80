import { HELPER_PREFIX } from "../host/cred-helper";
import type { AuthResolution } from "../host/credentials";
import type { DaemonJson } from "../host/daemon-config";
import type { LoadedConfig } from "../host/docker-config";
import type { Credential } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { maskUserinfo } from "../model/redact";
import { mirrorUrlError } from "../registry/mirror-url";

/** Pure: daemon.json's problem (current dockerd, with dockerd 20.10's differences) to its finding. */
export function daemonConfigFinding(daemon: DaemonJson): Finding | null {
  // The usual daemon.json (absent, or fine with no mirror to validate) has nothing to judge: the judging is compiled only when there is.
  if (!daemon.problem && typeof daemon.dockerd20 !== "string" && daemon.mirrors.length === 0) return null;
  return judgedDaemonConfig(daemon);
}

/** A daemon.json with a problem, a mirror to validate or a dockerd 20.10 reading: its finding, if any. */
function judgedDaemonConfig(daemon: DaemonJson): Finding | null {
  const p = daemon.problem;
  const legacy = daemon.dockerd20;
  // A well-formed file can still stop dockerd: it validates each registry-mirrors entry at
  // start (moby ValidateMirror). The doctor used to drop such a mirror without a word.
  // A mirror URL with userinfo carries a password: shown as "xxxxx", as moby prints it.
  const badMirror = p ? null : daemon.mirrors.map((m) => ({ m: maskUserinfo(m), error: mirrorUrlError(m) })).find((x) => x.error !== null);
  if (badMirror) {
    const legacy20 = badMirror.error!.includes("no scheme specified")
      ? ` (dockerd 20.10 says: failed to start daemon: invalid mirror: unsupported scheme "" in ${JSON.stringify(badMirror.m)})`
      : "";
    return finding(
      "DAEMON_CONFIG_UNREADABLE",
      { path: daemon.path, message: badMirror.error!, kind: "value", line: null, column: null },
      { path: daemon.path, kind: "value", message: badMirror.error!, mirror: badMirror.m },
      { note: `dockerd refuses to start with this registry-mirrors entry${legacy20}.` },
    );
  }
  if (p) {
    const params = { path: daemon.path, message: p.message, kind: p.kind, line: p.line ?? null, column: p.column ?? null };
    const evidence = { path: daemon.path, kind: p.kind, message: p.message, dockerd20: legacy === undefined ? p.message : legacy };
    if (p.refused)
      return finding("DAEMON_CONFIG_UNREADABLE", params, evidence, {
        note: "(pulldoctor did not read it: dockerd reads daemon.json whole at start, and blocks on a pipe or reads a device forever.)",
      });
    // A file pulldoctor may not open (not root) says nothing about dockerd, which runs as root.
    if (p.kind === "read")
      return finding("DAEMON_CONFIG_UNREADABLE", params, evidence, {
        severity: "warning",
        note: "pulldoctor could not read it (run as root to check it); dockerd itself may read it fine.",
      });
    const note =
      legacy === null
        ? "(dockerd 20.10 read only the first JSON value and started anyway.)"
        : legacy !== undefined
          ? `(dockerd 20.10 words it: ${legacy}.)`
          : undefined;
    return finding("DAEMON_CONFIG_UNREADABLE", params, evidence, note ? { note } : {});
  }
  if (typeof legacy === "string") {
    // Fine for current dockerd, fatal for 20.10 (e.g. an empty file).
    return finding(
      "DAEMON_CONFIG_UNREADABLE",
      { path: daemon.path, message: legacy, kind: "syntax", line: null, column: null },
      { path: daemon.path, kind: "syntax", message: null, dockerd20: legacy },
      { severity: "warning", note: "Current dockerd accepts this file; dockerd 20.10 (Debian 12's docker.io) refuses to start with it." },
    );
  }
  return null;
}

export function configUnreadable(loaded: LoadedConfig, credential: Credential | null): Finding {
  const p = loaded.problem!;
  const consequence = p.refused
    ? "pulldoctor did not read it, so no credentials from it are checked in this run."
    : credential
      ? `Docker goes on with what it decoded before the error, which still gives credentials for ${credential.lookupKey} (${credential.source}).`
      : "Docker goes on with what it decoded before the error (for a syntax error: nothing), so this pull is anonymous.";
  return finding(
    "CONFIG_UNREADABLE",
    {
      path: loaded.path,
      message: p.message,
      kind: p.kind,
      line: p.line ?? null,
      column: p.column ?? null,
      dockerWarning: loaded.warning ?? "",
      consequence,
    },
    {
      path: loaded.path,
      kind: p.kind,
      message: p.message,
      line: p.line ?? null,
      column: p.column ?? null,
      ...(p.key ? { key: p.key } : {}),
      dockerWarning: loaded.warning,
    },
    // A pipe or a device: the docker CLI reads config.json whole before anything else and hangs on it.
    p.refused
      ? { note: "(The docker CLI reads config.json whole before anything else: it blocks on a pipe and never finishes on a device.)" }
      : {},
  );
}

/** DOCKER_AUTH_CONFIG set but refused: Docker prints why and uses config.json instead. */
export function envUnusable(message: string): Finding {
  const detail = message.replace(/^Failed to create credential store from DOCKER_AUTH_CONFIG:\s+/, "");
  return finding(
    "CONFIG_UNREADABLE",
    {
      path: "DOCKER_AUTH_CONFIG",
      message: detail,
      kind: "env",
      line: null,
      column: null,
      dockerWarning: message,
      consequence: "Docker CLI 29+ ignores the variable and uses config.json and its helpers instead (older CLIs never read it).",
    },
    { path: "DOCKER_AUTH_CONFIG", kind: "env", message: detail, dockerWarning: message },
  );
}

/** Pure, table-tested: a credential lookup to its findings. */
export function credentialFindings(r: AuthResolution, loaded: LoadedConfig, registry: string): Finding[] {
  const out: Finding[] = [];
  if (r.error !== null && r.helper !== null) {
    const run = r.helperRuns[r.helperRuns.length - 1];
    const helper = HELPER_PREFIX + r.helper;
    const ev = {
      helper,
      via: r.helperVia,
      lookupKey: r.lookupKey,
      path: run?.path ?? null,
      exitCode: run?.exitCode ?? null,
      timedOut: run?.timedOut ?? false,
      output: run?.failureOutput ?? null,
      dockerError: r.error,
    };
    if (run && run.path === null)
      out.push(
        finding(
          "CREDS_HELPER_MISSING",
          {
            helper,
            name: r.helper,
            via: r.helperVia ?? "credsStore",
            lookupKey: r.lookupKey,
            registry,
            configPath: loaded.path,
            error: r.error,
          },
          ev,
        ),
      );
    else
      out.push(
        finding(
          "CREDS_HELPER_FAILED",
          {
            helper,
            via: r.helperVia ?? "credsStore",
            lookupKey: r.lookupKey,
            registry,
            configPath: loaded.path,
            exitCode: run?.exitCode ?? null,
            output: run?.failureOutput ?? "",
            error: r.error,
          },
          ev,
        ),
      );
  }
  // Kubernetes pull secrets are base64 by design: only a real config.json is judged.
  if (
    r.error === null &&
    r.store === "file" &&
    r.matchedKey !== null &&
    loaded.kind === "config.json" &&
    loaded.plaintextKeys.includes(r.matchedKey) &&
    (r.auth.password || r.auth.identitytoken || r.auth.registrytoken)
  ) {
    const others = loaded.plaintextKeys.filter((k) => k !== r.matchedKey).length;
    out.push(
      finding(
        "CREDS_PLAINTEXT",
        { configPath: loaded.path, key: r.matchedKey, registry, others },
        { configPath: loaded.path, key: r.matchedKey, plaintextKeys: loaded.plaintextKeys },
      ),
    );
  }
  return out;
}
