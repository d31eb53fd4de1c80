import type { Evidence } from "../model/evidence";
import type { Credential } from "../model/facts";
import type { StageContext } from "../model/stage";
import { endpointGetsCredentials } from "../net/origin";
import type { ChallengeBehaviour } from "./auth-classify";

/**
 * Which credentials the judged client sends to this host, and what the evidence says about
 * where they travel. Docker's containerd store gives them only to the login host, never to a
 * mirror (moby/moby:daemon/containerd/resolver.go#authorizerFromAuthConfig: "Host doesn't
 * match", anonymous on the mirror); kubelet's CRI call carries them to every host the pull
 * touches, mirrors and token realms included (containerd:internal/cri/server/images/image_pull.go#ParseAuth
 * filters only on ServerAddress, which kubelet never sets).
 */
export function credentialFor(ctx: StageContext, cred: Credential | null): { credential: Credential | null; evidence: Evidence | null } {
  const wire = ctx.facts.client?.wire;
  const ep = ctx.endpoint;
  if (!wire || !ep || !cred) return { credential: cred, evidence: null };
  // The one rule of where credentials go (net/origin.ts), as the judged client's profile states it.
  if (!endpointGetsCredentials(wire.credentialsTo, { host: ep.host, role: ep.role }, ctx.facts.ref?.registry ?? ""))
    return {
      credential: null,
      evidence: {
        withheld: `${wire.label} sends credentials only to the login host (${cred.lookupKey}), never to a mirror: ${ep.host} is asked anonymously`,
      },
    };
  if (wire.credentialsTo === "every-host" && ep.role === "mirror")
    return {
      credential: cred,
      evidence: {
        sentTo: `${wire.label} sends the credentials for ${cred.lookupKey} to every host the pull touches, this mirror (${ep.host}) included`,
      },
    };
  return { credential: cred, evidence: null };
}

/** A token realm on another host than the registry: say whether the judged client sends the credentials there. */
export function realmNote(ctx: StageContext, realm: string | undefined, cred: Credential | null): string | null {
  const wire = ctx.facts.client?.wire;
  if (!wire || !cred || !realm || !URL.canParse(realm)) return null;
  const host = new URL(realm).host;
  if (host === ctx.endpoint?.host) return null;
  return wire.credentialsTo === "every-host"
    ? `${wire.label} sends the credentials for ${cred.lookupKey} to the token realm ${host} too (every host the pull touches)`
    : `the credentials go to the token realm ${host} as the registry's challenge asks`;
}

/** The challenge behaviour of the judged client (its profile), else the stage's own. */
export function behaviourOf(ctx: StageContext, fallback: ChallengeBehaviour): ChallengeBehaviour {
  const wire = ctx.facts.client?.wire;
  return wire ? { client: wire.label, sendsOn401: wire.retries401WithCredentials } : fallback;
}

/** The credential the stage uses, as evidence (never the secret). */
export function credentialEvidence(cred: Credential | null): Evidence | null {
  if (!cred) return null;
  const kind = cred.identityToken ? "identitytoken" : cred.registryToken ? "registrytoken" : "password";
  return { source: cred.source, lookupKey: cred.lookupKey, username: cred.username ?? null, kind };
}

/** `credentialRouting` evidence, when the judged client's rule says something about this host or its realm. */
export function routingEvidence(routed: Evidence | null, realm: string | null): Evidence {
  return routed || realm ? { credentialRouting: { ...routed, ...(realm ? { realm } : {}) } } : {};
}

/** Something that could authenticate: a password, an identity token or a registry token. */
export const hasCreds = (c: Credential | null | undefined): boolean =>
  !!(c && (c.identityToken || c.registryToken || (c.username && c.password)));
